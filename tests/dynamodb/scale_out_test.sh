#!/usr/bin/env bash
# Scale-out test: three stateless `tally serve --store dynamodb:TABLE` on one
# dynalite table, behind nginx as the load balancer, all on loopback. Sends
# HITS hits (default 10 000) from parallel clients through nginx and checks
# that every hit was answered 200 with its own number (all distinct), that
# the final count is exact, and that every instance took part.
#
# Usage: scale_out_test.sh TALLY_BINARY [HITS] [CONCURRENCY]
set -euo pipefail
tally=$(realpath "$1")
hits=${2:-10000}
concurrency=${3:-64}
here=$(cd "$(dirname "$0")" && pwd)

"$here/install-npm-tools.sh"
if ! command -v nginx >/dev/null && [[ ! -x /usr/sbin/nginx ]]; then
  sudo=""; [[ $(id -u) -ne 0 ]] && sudo=sudo
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends nginx-light
fi
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

work=$(mktemp -d "${TMPDIR:-/tmp}/tally-scale-out-XXXXXX")
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [[ ${KEEP:-} == "" ]]; then rm -rf "$work"; else echo "kept $work"; fi
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  for f in "$work"/*.log; do echo "--- $f" >&2; tail -n 20 "$f" >&2; done
  exit 1
}

free_port() {
  node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}
wait_for() {  # port
  for _ in $(seq 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

# 1. dynalite and the table.
ddb_port=$(free_port)
node "$here/node_modules/dynalite/cli.js" --host 127.0.0.1 --port "$ddb_port" \
  --createTableMs 50 >"$work/dynalite.log" 2>&1 &
pids+=($!)
wait_for "$ddb_port" || fail "dynalite did not start"
export AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=secretsecretsecret AWS_REGION=us-east-1
export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$ddb_port"
unset AWS_SESSION_TOKEN
table=tally-scale-out
"$tally" dynamodb create-table "$table" >"$work/create-table.log" 2>&1 || fail "create-table"

# 2. Three tally servers on the table.
export TALLY_ADMIN_TOKEN=scale-out-root-token-0123456789
upstreams=""
for i in 1 2 3; do
  "$tally" serve --store "dynamodb:$table" --listen 127.0.0.1:0 --port-file "$work/port$i" \
    --rate-limit 0 --threads 2 >"$work/tally$i.log" 2>&1 &
  pids+=($!)
done
for i in 1 2 3; do
  for _ in $(seq 300); do [[ -s $work/port$i ]] && break; sleep 0.05; done
  [[ -s $work/port$i ]] || fail "tally $i did not start"
  upstreams+="    server 127.0.0.1:$(cat "$work/port$i") max_fails=0;"$'\n'
done

# 3. nginx in front, with its own prefix and config, not as a daemon.
lb_port=$(free_port)
mkdir -p "$work/nginx/logs"
cat >"$work/nginx.conf" <<CONF
daemon off;
worker_processes 2;
pid $work/nginx/nginx.pid;
error_log $work/nginx.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  upstream tally {
$upstreams    keepalive 64;
  }
  server {
    listen 127.0.0.1:$lb_port;
    location / {
      proxy_pass http://tally;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_next_upstream off;
    }
  }
}
CONF
"$nginx_bin" -p "$work/nginx" -c "$work/nginx.conf" &
pids+=($!)
wait_for "$lb_port" || fail "nginx did not start"

# 4. A site without rate limits, then the hits.
base="http://127.0.0.1:$lb_port"
curl -fsS -X POST "$base/v1/sites" -H "authorization: Bearer $TALLY_ADMIN_TOKEN" \
  -H 'content-type: application/json' -d '{"site":"scale.example","origins":["*"]}' \
  >"$work/site.json" || fail "site create"
# Each instance learns of new sites from the table within a few seconds.
for i in 1 2 3; do
  port=$(cat "$work/port$i")
  for _ in $(seq 300); do
    curl -sS "http://127.0.0.1:$port/v1/sites/scale.example/counters?key=/hot" |
      grep -q site_not_found || break
    sleep 0.1
  done
done
summary=$(node "$here/hit_load.js" "$base/v1/sites/scale.example/hits?key=/hot" "$hits" "$concurrency")
echo "load: $summary"
final=$(curl -fsS "$base/v1/sites/scale.example/counters?key=/hot")
echo "final: $final"

node -e '
const s = JSON.parse(process.argv[1]), f = JSON.parse(process.argv[2]), n = Number(process.argv[3]);
const errors = [];
if (s.ok !== n) errors.push(`only ${s.ok} of ${n} hits answered 200: ${JSON.stringify(s.statuses)}`);
if (s.distinct !== n) errors.push(`${s.distinct} distinct numbers for ${n} hits`);
if (s.min !== 1 || s.max !== n) errors.push(`numbers run ${s.min}..${s.max}, not 1..${n}`);
if (f.hits !== n) errors.push(`final count ${f.hits}, expected ${n}`);
if (errors.length) { console.error(errors.join("\n")); process.exit(1); }
' "$summary" "$final" "$hits" || fail "counts are not exact"

# Every instance must have counted some of them (the balancer spread them).
for i in 1 2 3; do
  port=$(cat "$work/port$i")
  counted=$(curl -fsS "http://127.0.0.1:$port/metrics" | awk '/^tally_hits_counted_total/ {print $2}')
  echo "instance $i counted ${counted:-?} hits"
  [[ ${counted:-0} != 0 ]] || fail "instance $i counted nothing"
done
echo "PASS: $hits hits through nginx on 3 instances, final count exact, all numbers distinct"
