#!/usr/bin/env bash
# Tally against its peers, in one run, on loopback.
#
#   bench/run.sh            full run (~8-10 min): 3 rounds x every target x 64/512 connections
#   bench/run.sh --quick    smoke-sized run of everything (~1-2 min), 100 000 counters
#   bench/run.sh --smoke    tally only, seconds, no peers, no build (what ctest runs)
#
# Options: --build DIR (Release build dir, default build-bench), --tally BIN (use
# this binary, skip the build), --out FILE (JSON, default bench/results/latest.json),
# --no-doc (do not rewrite docs/benchmarks.md and docs/images/bench.png),
# --rounds N, --seconds S, --counters N, --targets A,B,... (a subset of the
# targets below, in this order; e.g. --targets nginx,tally-read-hot,tally-strict-hot).
#
# What it does:
#  1. Builds `tally` Release (cmake -G Ninja -DCMAKE_BUILD_TYPE=Release).
#  2. Starts, each in its own temp dir: nginx (a fixed small JSON, keep-alive,
#     worker_processes = network threads), redis-server (appendonly yes,
#     appendfsync always), `tally serve` strict and `tally serve --durability
#     relaxed` (SQLite, defaults otherwise).
#  3. Rounds: in each, every target at every connection count, one after the
#     other, so that drift on a shared machine hits all of them alike. HTTP
#     targets are driven by wrk with bench/lua/hits.lua (POST + Origin; non-2xx
#     counted as failures, not throughput): nginx, tally hot key, tally 10 000
#     keys Zipf, and tally reading the hot key (GET, the same headers and
#     answer, nothing counted: the HTTP path's own cost). redis by
#     `redis-benchmark -t incr`. Peak RSS is VmHWM.
#  4. Start-up time (spawn -> first 200 on /healthz, median), RSS after
#     creating N distinct counters (default 1 000 000).
#  5. bench/report.py: medians, per-round ratios, JSON, docs section, chart.
# Needs: wrk, nginx, redis-server, redis-benchmark, python3, sqlite3, gnuplot
# (chart only). Clients and servers share the machine's cores: compare ratios
# from the same run, not absolute numbers across runs.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
mode=full
build="$root/build-bench"
tally=""
out="$root/bench/results/latest.json"
write_doc=1
rounds="" seconds="" counters="" only_targets=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) mode=quick ;;
    --smoke) mode=smoke ;;
    --build) build=$2; shift ;;
    --tally) tally=$2; shift ;;
    --out) out=$2; shift ;;
    --no-doc) write_doc=0 ;;
    --rounds) rounds=$2; shift ;;
    --seconds) seconds=$2; shift ;;
    --counters) counters=$2; shift ;;
    --targets) only_targets=$2; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

threads=$(nproc)
case $mode in
  full)  : "${rounds:=3}" "${seconds:=6}" "${counters:=1000000}"; conns=(64 512); startups=11
         targets=(nginx redis tally-strict-hot tally-strict-zipf tally-relaxed-hot tally-relaxed-zipf
                  tally-read-hot) ;;
  quick) : "${rounds:=1}" "${seconds:=2}" "${counters:=100000}"; conns=(64 512); startups=5
         targets=(nginx redis tally-strict-hot tally-strict-zipf tally-relaxed-hot tally-relaxed-zipf
                  tally-read-hot) ;;
  smoke) : "${rounds:=1}" "${seconds:=1}" "${counters:=0}"; conns=(16); startups=2
         targets=(tally-strict-hot tally-strict-zipf); write_doc=0 ;;
esac
if [[ -n $only_targets ]]; then
  chosen=()
  for target in "${targets[@]}"; do
    [[ ,$only_targets, == *,$target,* ]] && chosen+=("$target")
  done
  [[ ${#chosen[@]} -gt 0 ]] || { echo "bench: no known target in --targets $only_targets" >&2; exit 2; }
  targets=("${chosen[@]}")
fi

for tool in wrk python3; do
  command -v $tool >/dev/null || { echo "bench: $tool not found" >&2; exit 77; }
done
if [[ $mode != smoke ]]; then
  for tool in nginx redis-server redis-benchmark redis-cli sqlite3; do
    command -v $tool >/dev/null || { echo "bench: $tool not found (apt install wrk nginx-light redis-server redis-tools sqlite3)" >&2; exit 77; }
  done
fi

if [[ -z $tally ]]; then
  echo "== building Release in $build"
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTALLY_BUILD_TESTS=OFF >/dev/null
  ninja -C "$build" tally >/dev/null
  # The allocations-per-hit micro-benchmark, when Google Benchmark is installed.
  if [[ $mode != smoke ]] && ninja -C "$build" -t targets all | grep -q '^tally_micro_bench:'; then
    ninja -C "$build" tally_micro_bench >/dev/null
  fi
  tally="$build/src/cli/tally"
fi
tally=$(realpath "$tally")

tmp=$(mktemp -d /tmp/tally-bench.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
raw="$tmp/raw.jsonl"
: >"$raw"
lua="$root/bench/lua/hits.lua"
origin="http://localhost:8080"  # the demo site allows http://localhost:*

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_http() {  # port: until GET /healthz (tally) or / (nginx) answers
  for _ in $(seq 1 500); do
    curl -s -o /dev/null "http://127.0.0.1:$1/healthz" && return 0
    sleep 0.02
  done
  echo "bench: nothing listening on $1" >&2; return 1
}
rss_kib() {  # field pids...: sum of VmHWM or VmRSS (KiB) over the processes
  local field=$1 total=0 v; shift
  for p in "$@"; do
    v=$(awk -v f="$field:" '$1==f {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)
    total=$((total + ${v:-0}))
  done
  echo $total
}

# --- servers -------------------------------------------------------------
declare -A port pidof
start_tally() {  # name durability
  local dir="$tmp/$1"; mkdir -p "$dir"
  port[$1]=$(free_port)
  (cd "$dir" && exec "$tally" serve --store "sqlite:$dir/tally.db" --durability "$2" \
     --listen "127.0.0.1:${port[$1]}" --threads "$threads" >"$dir/log" 2>&1) &
  pidof[$1]=$!; pids+=($!)
  wait_http "${port[$1]}"
}
start_tally tally-strict strict
# The key tally-read-hot reads, whatever ran before it.
curl -s -o /dev/null -X POST -H "Origin: $origin" \
  "http://127.0.0.1:${port[tally-strict]}/v1/sites/demo/hits?key=/hot"
[[ $mode == smoke ]] || start_tally tally-relaxed relaxed

if [[ $mode != smoke ]]; then
  mkdir -p "$tmp/nginx/logs"
  port[nginx]=$(free_port)
  body='{"site":"demo","key":"/hot","hits":123456,"visitors":1,"today":{"hits":123456,"visitors":1},"counted":true}'
  cat >"$tmp/nginx/nginx.conf" <<EOF
worker_processes $threads;
daemon off;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 60s;
  client_body_temp_path $tmp/nginx/body;
  proxy_temp_path $tmp/nginx/proxy;
  fastcgi_temp_path $tmp/nginx/fastcgi;
  uwsgi_temp_path $tmp/nginx/uwsgi;
  scgi_temp_path $tmp/nginx/scgi;
  server {
    listen 127.0.0.1:${port[nginx]} reuseport;
    location / {
      default_type application/json;
      add_header Cache-Control no-store;
      add_header Access-Control-Allow-Origin \$http_origin;
      return 200 '$body';
    }
  }
}
EOF
  nginx -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" -e "$tmp/nginx/logs/error.log" &
  pidof[nginx]=$!; pids+=($!)
  wait_http "${port[nginx]}"

  mkdir -p "$tmp/redis"
  port[redis]=$(free_port)
  redis-server --port "${port[redis]}" --bind 127.0.0.1 --dir "$tmp/redis" --appendonly yes \
    --appendfsync always --save '' --daemonize no >"$tmp/redis/log" 2>&1 &
  pidof[redis]=$!; pids+=($!)
  for _ in $(seq 1 200); do redis-cli -p "${port[redis]}" ping >/dev/null 2>&1 && break; sleep 0.02; done
fi

server_pids() {  # target -> the processes whose RSS counts (nginx: master + workers)
  case $1 in
    nginx) echo "${pidof[nginx]} $(pgrep -P "${pidof[nginx]}" | tr '\n' ' ')" ;;
    redis) echo "${pidof[redis]}" ;;
    tally-strict-* | tally-read-*) echo "${pidof[tally-strict]}" ;;
    tally-relaxed-*) echo "${pidof[tally-relaxed]}" ;;
  esac
}

# --- one measurement -------------------------------------------------------
redis_rate=20000  # first guess of INCR/s; redis-benchmark runs by count, not time
measure() {  # round target conns seconds
  local round=$1 target=$2 c=$3 s=$4 line
  case $target in
    redis)
      local n=$((redis_rate * s))
      local text
      text=$(redis-benchmark -h 127.0.0.1 -p "${port[redis]}" -t incr -c "$c" -n "$n" \
               --threads "$threads" 2>&1)
      line=$(python3 "$root/bench/report.py" parse-redis <<<"$text")
      redis_rate=$(python3 -c "import json,sys; print(max(1000,int(json.loads(sys.argv[1])['ok_per_sec'])))" "$line")
      ;;
    *)
      local p script_args
      case $target in
        nginx) p=${port[nginx]}; script_args=(hot) ;;
        tally-strict-hot) p=${port[tally-strict]}; script_args=(hot) ;;
        tally-strict-zipf) p=${port[tally-strict]}; script_args=(zipf) ;;
        tally-relaxed-hot) p=${port[tally-relaxed]}; script_args=(hot) ;;
        tally-relaxed-zipf) p=${port[tally-relaxed]}; script_args=(zipf) ;;
        # After tally-strict-hot in every round, so the key exists.
        tally-read-hot) p=${port[tally-strict]}; script_args=(read) ;;
      esac
      line=$(wrk -t"$threads" -c"$c" -d"${s}s" --timeout 10s --latency -s "$lua" \
               "http://127.0.0.1:$p" -- "${script_args[@]}" demo "$origin" 10000 0 "$round" \
               "$threads" | sed -n 's/^BENCH_JSON //p')
      ;;
  esac
  if [[ -z $line ]]; then echo "bench: no result from $target at $c connections" >&2; exit 1; fi
  local hwm
  hwm=$(rss_kib VmHWM $(server_pids "$target"))
  echo "{\"round\":$round,\"target\":\"$target\",\"connections\":$c,\"peak_rss_kib\":$hwm,\"load\":\"$(cut -d' ' -f1-3 /proc/loadavg)\",\"result\":$line}" >>"$raw"
  python3 -c "import json,sys; r=json.loads(sys.argv[1]); print(f'  {sys.argv[2]:20} c={sys.argv[3]:>3}  ok/s={r[\"ok_per_sec\"]:>9.0f}  non2xx={r[\"non2xx\"]}  p50={r[\"p50_us\"]/1000:.2f}ms p99={r[\"p99_us\"]/1000:.2f}ms p99.9={r[\"p999_us\"]/1000:.2f}ms')" "$line" "$target" "$c"
}

echo "== load: $(uptime)"
echo "== warm-up"
for target in "${targets[@]}"; do
  [[ $target == redis ]] && continue
  measure 0 "$target" "${conns[0]}" 1 >/dev/null
done
: >"$raw"  # warm-up rows are not results

for round in $(seq 1 "$rounds"); do
  echo "== round $round/$rounds ($(cut -d' ' -f1-3 /proc/loadavg))"
  for c in "${conns[@]}"; do
    for target in "${targets[@]}"; do measure "$round" "$target" "$c" "$seconds"; done
  done
done

# --- start-up time -----------------------------------------------------------
echo "== start-up time"
python3 "$root/bench/startup.py" "$tally" "$tmp/startup" "$startups" "$threads" >"$tmp/startup.json"
cat "$tmp/startup.json"

# --- RSS with many counters --------------------------------------------------
if [[ $counters -gt 0 ]]; then
  echo "== creating $counters counters"
  # relaxed: the fill is about memory, not durability; it only makes it faster.
  start_tally tally-fill relaxed
  fill_pid=${pidof[tally-fill]} fill_port=${port[tally-fill]}
  db="$tmp/tally-fill/tally.db"
  issued=0 have=0 t0=$(date +%s)
  while :; do
    line=$(wrk -t"$threads" -c64 -d10s --timeout 10s -s "$lua" "http://127.0.0.1:$fill_port" \
             -- walk demo "$origin" "$counters" "$issued" 1 "$threads" | sed -n 's/^BENCH_JSON //p')
    # Advance by the slowest thread's share: keys are dealt round-robin to
    # threads, so advancing by the total would skip what slower threads missed.
    issued=$((issued + $(python3 -c "import json,sys; print(json.loads(sys.argv[1])['min_thread_requests'] * $threads)" "$line")))
    have=$(sqlite3 "file:$db?mode=ro" "SELECT count(*) FROM counts WHERE site='demo' AND day='total' AND key LIKE '/w%'")
    echo "  $have counters ($(( $(date +%s) - t0 )) s)"
    [[ $have -ge $counters || $(( $(date +%s) - t0 )) -gt 600 ]] && break
  done
  sleep 1  # let the writer settle
  fill_rss=$(rss_kib VmRSS "$fill_pid") fill_hwm=$(rss_kib VmHWM "$fill_pid")
  fill_secs=$(( $(date +%s) - t0 ))
  db_bytes=$(du -cb "$db"* | tail -1 | cut -f1)
  echo "{\"counters\":$have,\"rss_kib\":$fill_rss,\"peak_rss_kib\":$fill_hwm,\"fill_seconds\":$fill_secs,\"db_bytes\":$db_bytes}" >"$tmp/counters.json"
  cat "$tmp/counters.json"
else
  echo '{}' >"$tmp/counters.json"
fi

# --- allocations per hit (bench/micro, if built) --------------------------------
echo '{}' >"$tmp/allocs.json"
for micro in "$build/bench/micro/tally_micro_bench" "$build/tally_micro_bench"; do
  [[ $mode != smoke && -x $micro ]] || continue
  echo "== allocations per hit ($micro)"
  # JSON to a file: the in-process server logs to stdout.
  "$micro" --benchmark_filter=BM_HitPathAllocations --benchmark_min_time=1 \
    --benchmark_out="$tmp/micro.json" --benchmark_out_format=json >/dev/null 2>&1 &&
    python3 -c 'import json,sys; b=json.load(open(sys.argv[1]))["benchmarks"][0]; print(json.dumps({"allocations_per_hit": round(b["allocs_per_hit"], 5)}))' \
      "$tmp/micro.json" >"$tmp/allocs.json" || echo '{}' >"$tmp/allocs.json"
  cat "$tmp/allocs.json"
  break
done

# --- report -------------------------------------------------------------------
mkdir -p "$(dirname "$out")"
report_args=(report --raw "$raw" --startup "$tmp/startup.json" --counters "$tmp/counters.json"
             --allocs "$tmp/allocs.json"
             --out "$out" --mode "$mode" --seconds "$seconds" --rounds "$rounds"
             --threads "$threads" --tally "$tally")
if [[ $write_doc == 1 ]]; then
  report_args+=(--doc "$root/docs/benchmarks.md" --chart "$root/docs/images/bench.png")
fi
python3 "$root/bench/report.py" "${report_args[@]}"
echo "== wrote $out"
