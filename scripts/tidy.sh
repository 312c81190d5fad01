#!/usr/bin/env bash
# Runs clang-tidy (checks in .clang-tidy) over every .cc file of src/, tests/
# and bench/ in a build directory's compile_commands.json, in parallel, and
# exits non-zero if there is any finding. Installs clang-tidy if it is missing.
#   scripts/tidy.sh [BUILD_DIR]     (default: build; configure it with CMake first)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(realpath -m "${1:-build}")

if [[ ! -f "$build/compile_commands.json" ]]; then
  echo "No $build/compile_commands.json: configure it first, e.g." >&2
  echo "  cmake -S $root -B $build -G Ninja -DCMAKE_BUILD_TYPE=Debug" >&2
  exit 2
fi

"$root/scripts/install-deps.sh" --tidy

# run-clang-tidy fails only if clang-tidy does (compile errors), so findings
# are counted from its output.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
run-clang-tidy-14 -p "$build" -j"$(nproc)" -quiet "^$root/(src|tests|bench)/.*\.cc$" 2>&1 |
  tee "$log" || status=$?
# (grep finds nothing on a clean run: `|| true`, or pipefail would end the script.)
findings=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | { grep -E '(^|: )(warning|error): ' || true; } |
  sort -u | wc -l)
if ((status != 0 || findings != 0)); then
  echo "clang-tidy: $findings finding(s)" >&2
  exit 1
fi
echo "clang-tidy: clean"
