#!/usr/bin/env bash
# Builds tests/fuzz/request_fuzzer with clang (libFuzzer + ASan + UBSan) in a
# build dir of its own and runs it for a bounded time on the committed seeds.
# Exits non-zero if the fuzzer finds a crash, leak or broken invariant (the
# reproducer is left in BUILD_DIR/artifacts/).
#
#   tests/fuzz/run_fuzzer.sh [--build-dir DIR] [--max-total-time SECONDS] [-- libFuzzer flags]
#
# Reproduce a crash: BUILD_DIR/tests/request_fuzzer BUILD_DIR/artifacts/crash-...
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build_dir="$root/build-fuzz"
max_total_time=30
extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build-dir) build_dir="$2"; shift 2 ;;
    --max-total-time) max_total_time="$2"; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    *) echo "usage: $0 [--build-dir DIR] [--max-total-time SECONDS] [-- libFuzzer flags]" >&2
       exit 2 ;;
  esac
done

command -v clang++ >/dev/null || { echo "run_fuzzer.sh: clang++ not found" >&2; exit 2; }

# Every library gets coverage and sanitizers (fuzzer-no-link); only the
# target links libFuzzer's main. tests/ is only added with
# TALLY_BUILD_TESTS=ON, so that stays on; only the fuzzer is built.
sanitize="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined"
if [[ ! -f "$build_dir/build.ninja" ]]; then
  CC=clang CXX=clang++ cmake -S "$root" -B "$build_dir" -G Ninja \
    -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_CXX_FLAGS="-O1 -g -fno-omit-frame-pointer $sanitize" \
    -DTALLY_FUZZ=ON -DTALLY_BUILD_TESTS=ON -DTALLY_WERROR=OFF >/dev/null
fi
# Two jobs at most: the machines this runs on are small and shared.
ninja -C "$build_dir" -j "${TALLY_FUZZ_JOBS:-2}" request_fuzzer

# New inputs go to a scratch corpus; the committed seeds are only read.
work="$build_dir/fuzz-corpus"
mkdir -p "$work" "$build_dir/artifacts"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
"$build_dir/tests/request_fuzzer" \
  -max_total_time="$max_total_time" \
  -timeout=20 \
  -rss_limit_mb=2048 \
  -max_len=4096 \
  -print_final_stats=1 \
  -dict="$here/request.dict" \
  -artifact_prefix="$build_dir/artifacts/" \
  "${extra[@]}" \
  "$work" "$here/corpus"
