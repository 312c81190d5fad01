#!/usr/bin/env bash
# Builds tally-lambda (Release) and packages it as a self-contained AWS Lambda
# custom runtime: build/lambda/tally-lambda.zip with `bootstrap` at its root.
#
# The zip runs on provided.al2023 whatever this machine's glibc (Debian 12's
# libstdc++ needs glibc 2.36; Amazon Linux 2023 has 2.34), the way
# aws-lambda-cpp's packager does it: the binary ships with exactly the shared
# libraries `ldd` says it needs and with this machine's dynamic loader. Rather
# than a shell-script bootstrap that runs the loader with --library-path
# (which needs /bin/sh), `bootstrap` is the binary itself, with its ELF
# interpreter set to the bundled loader at /var/task/lib/ (Lambda unpacks the
# zip to /var/task) and an RPATH (not RUNPATH: it also applies to the
# libraries' own dependencies) of /var/task/lib. Also bundled: the IANA time
# zone files (cctz reads them from TZDIR, which the function sets to
# /var/task/zoneinfo when unset). Everything is stripped.
#
# Usage: deploy/aws/package.sh [--build-dir DIR] [--out ZIP] [--stage DIR]
#                              [--binary PATH]   (package PATH, build nothing)
# Needs: cmake, ninja, g++, the build dependencies, patchelf, zip.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
build_dir=$root/build/lambda/release
out=$root/build/lambda/tally-lambda.zip
stage=$root/build/lambda/stage
task_root=/var/task
binary=""
while (($#)); do
  case $1 in
    --build-dir) build_dir=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --stage) stage=$2; shift 2 ;;
    --binary) binary=$2; shift 2 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
for tool in patchelf zip advzip ldd strip; do
  command -v "$tool" >/dev/null || { echo "package.sh: $tool is missing" >&2; exit 1; }
done

if [[ -z $binary ]]; then
  # Small rather than fast (the function waits on the network, not the CPU):
  # -Os, unused code dropped at link time, OpenSSL linked statically (only
  # what is used), and no web pages compiled in (the site is on S3).
  cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTALLY_BUILD_TESTS=OFF \
    -DCMAKE_CXX_FLAGS_RELEASE="-Os -DNDEBUG" -DCMAKE_CXX_FLAGS="-ffunction-sections -fdata-sections" \
    -DCMAKE_EXE_LINKER_FLAGS="-Wl,--gc-sections" -DTALLY_STATIC_OPENSSL=ON -DTALLY_WEB_ASSETS=OFF \
    >/dev/null
  ninja -C "$build_dir" -j"${JOBS:-2}" tally-lambda >&2
  binary=$build_dir/src/lambda/tally-lambda
fi

rm -rf "$stage"
mkdir -p "$stage/lib"
cp "$binary" "$stage/bootstrap"

# Every library ldd resolves (the whole transitive closure), plus the loader.
loader=""
while read -r line; do
  if [[ $line =~ ^([^[:space:]]+)[[:space:]]=\>[[:space:]](/[^[:space:]]+) ]]; then
    cp -L "${BASH_REMATCH[2]}" "$stage/lib/${BASH_REMATCH[1]}"
  elif [[ $line =~ ^(/[^[:space:]]*ld-linux[^[:space:]]*)[[:space:]] ]]; then
    loader=${BASH_REMATCH[1]}
  elif [[ $line =~ "not found" ]]; then
    echo "package.sh: unresolved library: $line" >&2
    exit 1
  fi
done < <(ldd "$binary")
[[ -n $loader ]] || { echo "package.sh: no dynamic loader in ldd output" >&2; exit 1; }
loader_name=$(basename "$loader")
cp -L "$loader" "$stage/lib/$loader_name"

strip --strip-all "$stage/bootstrap"
strip --strip-unneeded "$stage"/lib/*.so* 2>/dev/null || true
patchelf --set-interpreter "$task_root/lib/$loader_name" "$stage/bootstrap"
patchelf --force-rpath --set-rpath "$task_root/lib" "$stage/bootstrap"
chmod 755 "$stage/bootstrap" "$stage/lib/$loader_name"

# Time zones: the compiled TZif files (no tables, no posix/ or right/
# duplicates), and the aliases (US/Eastern, Europe/Kiev, ...) as the relative
# symbolic links tzdata makes them, so that days follow any IANA zone name.
zoneinfo=${TZDIR:-/usr/share/zoneinfo}
mkdir -p "$stage/zoneinfo"
(cd "$zoneinfo" && find . \( -type f -o -type l \) ! -path './posix/*' ! -path './right/*' \
   ! -name '*.tab' ! -name '*.zi' ! -name 'leapseconds' ! -name 'leap-seconds.list' \
   ! -name 'SECURITY' ! -name 'posixrules' -print0 |
   while IFS= read -r -d '' f; do
     if [[ -L $f ]]; then
       target=$(readlink "$f")
       # Only links that stay inside the tree and end at a TZif file.
       [[ $target != /* ]] && head -c 4 "$f" 2>/dev/null | grep -q TZif || continue
       mkdir -p "$stage/zoneinfo/$(dirname "$f")"
       ln -sfn "$target" "$stage/zoneinfo/$f"
     elif head -c 4 "$f" | grep -q TZif; then
       mkdir -p "$stage/zoneinfo/$(dirname "$f")"
       cp "$f" "$stage/zoneinfo/$f"
     fi
   done)

mkdir -p "$(dirname "$out")"
rm -f "$out"
# -y keeps the zone aliases as links (Lambda unpacks them as such); advzip
# then recompresses every entry with zopfli, still plain deflate.
(cd "$stage" && zip -q -9 -r -X -y "$out" bootstrap lib zoneinfo)
advzip -q -z -4 "$out"
echo "$out: $(stat -c %s "$out") bytes ($(ls "$stage/lib" | wc -l) files in lib/)" >&2
