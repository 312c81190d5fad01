#!/usr/bin/env bash
# Runs the hot-counter benchmark against a dynalite on loopback (or, with
# AWS_* set and NO_DYNALITE=1, against real DynamoDB — it costs money).
# Usage: bench/dynamodb/run.sh BUILD_DIR [SECONDS] [CLIENT_THREADS...]
set -euo pipefail
build=$(realpath "$1"); seconds=${2:-5}; shift 2 || true
threads=("${@:-1 16 64 256}")
root=$(cd "$(dirname "$0")/../.." && pwd)
ninja -C "$build" dynamodb_hot_counter_bench tally >/dev/null
bench="$build/bench/dynamodb/dynamodb_hot_counter_bench"
pid=""
trap '[[ -n $pid ]] && kill $pid 2>/dev/null; true' EXIT
if [[ ${NO_DYNALITE:-} == "" ]]; then
  "$root/tests/dynamodb/install-npm-tools.sh"
  port=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
  node "$root/tests/dynamodb/node_modules/dynalite/cli.js" --host 127.0.0.1 --port "$port" \
    --createTableMs 50 >/dev/null 2>&1 &
  pid=$!
  sleep 1
  export AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=secret AWS_REGION=us-east-1
  export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$port"
fi
table=${TABLE:-tally-bench}
"$build/src/cli/tally" dynamodb create-table "$table" >/dev/null 2>&1
for t in ${threads[@]}; do "$bench" "$table" "$seconds" "$t"; done
