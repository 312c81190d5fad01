#!/usr/bin/env bash
# Where one tally cell's time goes: per-commit numbers, optionally a profile.
#
#   bench/profile.sh TALLY strict|relaxed hot|zipf [SECONDS=5] [--perf|--mallocs]
#
# Starts `TALLY serve` on a fresh database, warms it up for 2 s with wrk and
# bench/lua/hits.lua (64 connections), then measures a SECONDS-long run and
# prints one line: answered req/s, p50/p99, hits and milliseconds per commit
# (from /metrics), bytes written per hit and write calls per commit
# (/proc/PID/io), the busiest thread's CPU per hit (the group-commit writer)
# and the whole server's, wrk's own CPU, and, where `perf stat` may count
# the syscalls tracepoints, commits per fsync/fdatasync (SQLite's and Sync()'s
# together; "n/a" otherwise). With --perf it also records
# `perf record -e cpu-clock -g` of the server during the run and leaves
# perf.data in the printed directory (`perf report -i DIR/perf.data`). With
# --mallocs it also counts the server's calls to glibc's malloc, calloc and
# realloc during the run with perf uprobes (added if missing; each call then
# traps, so read ok/s of such a run as slowed) and prints them per hit.
# WARMUP=14s (environment) warms up longer: the strict WAL reaches its
# checkpoint size (17 MB) after ~14 s of one hot key, ~0.5 s of the Zipf mix.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tally=$(realpath "$1"); durability=$2; mode=$3; seconds=${4:-5}; perf=${5:-}
tmp=$(mktemp -d /tmp/tally-profile.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$tally" serve --store "sqlite:$tmp/t.db" --durability "$durability" --listen "127.0.0.1:$port" \
  --threads "$(nproc)" >"$tmp/log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 250); do curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && break; sleep 0.02; done
drive() {
  wrk -t"$(nproc)" -c64 -d"$1" --timeout 10s --latency -s "$root/bench/lua/hits.lua" \
    "http://127.0.0.1:$port" -- "$mode" demo http://localhost:8080 10000 0 1 "$(nproc)"
}
snapshot() {  # metrics, /proc io and per-thread CPU ticks, as "name value" lines
  curl -s "http://127.0.0.1:$port/metrics" |
    grep -E '^tally_(batch_hits|commit_seconds)_(sum|count) ' || true
  grep -E '^(wchar|syscw):' "/proc/$pid/io" | tr -d ':'
  for t in /proc/$pid/task/*; do echo "thread_${t##*/} $(awk '{print $14 + $15}' "$t/stat")"; done
}
drive "${WARMUP:-2s}" >/dev/null
snapshot >"$tmp/before"
perf_pid=""
if [[ $perf == --perf ]]; then
  perf record -F 999 -e cpu-clock -g -p "$pid" -o "$tmp/perf.data" -- sleep "$seconds" \
    >/dev/null 2>&1 &
  perf_pid=$!
fi
malloc_pid=""
if [[ $perf == --mallocs ]]; then
  libc=$(ldd "$tally" | awk '/libc\.so/ {print $3}')
  for f in malloc calloc realloc; do
    perf probe -l 2>/dev/null | grep -q "probe_libc:$f " || perf probe -q -x "$libc" -a "$f" >/dev/null
  done
  perf stat -x, -e probe_libc:malloc,probe_libc:calloc,probe_libc:realloc -p "$pid" \
    -o "$tmp/malloc.stat" -- sleep "$seconds" >/dev/null 2>&1 &
  malloc_pid=$!
fi
# fsync + fdatasync calls of the server during the run, if perf can count them.
perf stat -x, -e syscalls:sys_enter_fsync,syscalls:sys_enter_fdatasync -p "$pid" \
  -o "$tmp/fsync.stat" -- sleep "$seconds" >/dev/null 2>&1 &
stat_pid=$!
export -f drive; export root port mode
/usr/bin/time -f 'WRK_CPU %U %S' -o "$tmp/wrk.time" bash -c "drive ${seconds}s" >"$tmp/wrk.out"
[[ -z $perf_pid ]] || wait "$perf_pid"
[[ -z $malloc_pid ]] || wait "$malloc_pid"
wait "$stat_pid" || true
snapshot >"$tmp/after"
python3 - "$tmp" "$(getconf CLK_TCK)" <<'PY'
import json, re, sys
tmp, hz = sys.argv[1], int(sys.argv[2])
def load(name):
    return {k: float(v) for k, v in (l.split() for l in open(f"{tmp}/{name}") if l.strip())}
b, a = load("before"), load("after")
d = {k: a[k] - b.get(k, 0) for k in a}
w = json.loads(re.search(r"^BENCH_JSON (.*)$", open(f"{tmp}/wrk.out").read(), re.M).group(1))
user, sys_ = map(float, open(f"{tmp}/wrk.time").read().split()[1:3])
hits, commits = d["tally_batch_hits_sum"], d["tally_batch_hits_count"]
ticks = sorted((v for k, v in d.items() if k.startswith("thread_")), reverse=True)
us = 1e6 / hz
try:
    syncs = sum(float(l.split(",")[0]) for l in open(f"{tmp}/fsync.stat")
                if "sys_enter_f" in l and l.split(",")[0].replace(".", "").isdigit())
    per_sync = f"{commits/syncs:.2f}" if syncs else "n/a"
except OSError:
    per_sync = "n/a"
try:
    mallocs = sum(float(l.split(",")[0]) for l in open(f"{tmp}/malloc.stat")
                  if "probe_libc" in l and l.split(",")[0].replace(".", "").isdigit())
    malloc_note = f"  mallocs/hit {mallocs/hits:.4f}"
except OSError:
    malloc_note = ""
print(f"ok/s {w['ok_per_sec']:.0f}  p50 {w['p50_us']/1000:.2f} ms  p99 {w['p99_us']/1000:.2f} ms  "
      f"hits/commit {hits/commits:.1f}  ms/commit {1000*d['tally_commit_seconds_sum']/commits:.2f}  "
      f"bytes written/hit {d['wchar']/hits:.0f}  writes/commit {d['syscw']/commits:.1f}  "
      f"writer CPU us/hit {ticks[0]*us/hits:.1f}  server CPU us/hit {sum(ticks)*us/hits:.1f}  "
      f"wrk CPU {user+sys_:.2f} s  commits/fsync {per_sync}  non2xx {w['non2xx']}{malloc_note}")
PY
echo "dir: $tmp"
