#!/usr/bin/env bash
# Before/after: two tally binaries, alternating rounds, same load, same run.
#
#   bench/compare.sh OLD_TALLY NEW_TALLY [ROUNDS=3] [SECONDS=5] [CONNECTIONS=64]
#
# For each round, each of strict/relaxed x hot/zipf, runs OLD then NEW (each on
# its own fresh database) with wrk and bench/lua/hits.lua; prints per-cell
# medians of successful req/s and p99, and NEW/OLD.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
old=$(realpath "$1"); new=$(realpath "$2")
rounds=${3:-3}; seconds=${4:-5}; conns=${5:-64}
threads=$(nproc)
tmp=$(mktemp -d /tmp/tally-compare.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
declare -A port
for bin in old new; do
  for d in strict relaxed; do
    dir="$tmp/$bin-$d"; mkdir -p "$dir"
    port[$bin-$d]=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    exe=$old; [[ $bin == new ]] && exe=$new
    "$exe" serve --store "sqlite:$dir/t.db" --durability $d --listen "127.0.0.1:${port[$bin-$d]}" \
      --threads "$threads" >"$dir/log" 2>&1 &
    pids+=($!)
  done
done
for p in "${port[@]}"; do
  for _ in $(seq 1 250); do curl -s -o /dev/null "http://127.0.0.1:$p/healthz" && break; sleep 0.02; done
done
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
: >"$tmp/raw"
for round in $(seq 0 "$rounds"); do  # round 0 warms up
  for d in strict relaxed; do
    for mode in hot zipf; do
      for bin in old new; do
        s=$seconds; [[ $round == 0 ]] && s=1
        line=$(wrk -t"$threads" -c"$conns" -d"${s}s" --timeout 10s -s "$root/bench/lua/hits.lua" \
                 "http://127.0.0.1:${port[$bin-$d]}" -- $mode demo http://localhost:8080 10000 0 1 \
                 "$threads" | sed -n 's/^BENCH_JSON //p')
        [[ $round == 0 ]] || echo "$d-$mode $bin $line" >>"$tmp/raw"
      done
    done
  done
done
python3 - "$tmp/raw" <<'EOF'
import json, statistics, sys
cells = {}
for line in open(sys.argv[1]):
    cell, bin_, js = line.split(" ", 2)
    cells.setdefault(cell, {}).setdefault(bin_, []).append(json.loads(js))
print(f"{'cell':14} {'old ok/s':>10} {'new ok/s':>10} {'new/old':>8} {'old p99':>8} {'new p99':>8}")
for cell, by in cells.items():
    o = statistics.median(r["ok_per_sec"] for r in by["old"])
    n = statistics.median(r["ok_per_sec"] for r in by["new"])
    op = statistics.median(r["p99_us"] for r in by["old"]) / 1000
    np_ = statistics.median(r["p99_us"] for r in by["new"]) / 1000
    bad = sum(r["non2xx"] for rs in by.values() for r in rs)
    print(f"{cell:14} {o:>10.0f} {n:>10.0f} {n / o:>8.2f} {op:>7.2f}ms {np_:>7.2f}ms" + (f"  non2xx={bad}" if bad else ""))
EOF
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
