#!/usr/bin/env bash
# Builds Tally (Release) and starts `tally serve` on its embedded defaults:
# http://127.0.0.1:8080, SQLite at ./data/tally.db, demo page at /demo/.
# Extra arguments go to `tally serve` (e.g. --listen 0.0.0.0:8080).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
web/build.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DTALLY_BUILD_TESTS=OFF >/dev/null
cmake --build build/release --target tally
echo
echo "Open the demo page: http://127.0.0.1:8080/demo/  (Ctrl-C stops the server)"
echo
exec build/release/src/cli/tally serve "$@"
