#!/usr/bin/env bash
# Measures, side by side in one run: the init time of Tally's Lambda
# bootstrap (the packaged zip, Release) against a Python 3 handler importing
# boto3 (Debian python3-boto3), both under the same tiny Runtime API on
# loopback, with DynamoDB = dynalite; and the package's size.
#
# Usage: bench/lambda/run.sh [--zip build/lambda/tally-lambda.zip] [--runs 20]
# Builds the zip with deploy/aws/package.sh if it is missing.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
zip=$root/build/lambda/tally-lambda.zip
runs=20
while (($#)); do
  case $1 in
    --zip) zip=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
python=/usr/bin/python3
"$python" -c 'import boto3' 2>/dev/null || { echo "needs Debian python3-boto3" >&2; exit 1; }
[[ -f $zip ]] || "$root/deploy/aws/package.sh" --out "$zip"
"$root/tests/dynamodb/install-npm-tools.sh"

work=$(mktemp -d)
dynalite_pid=""
cleanup() {
  [[ -n $dynalite_pid ]] && kill "$dynalite_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/root/var/task"
unzip -q "$zip" -d "$work/root/var/task"

port=$("$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$root/tests/dynamodb/node_modules/.bin/dynalite" --port "$port" >/dev/null 2>&1 &
dynalite_pid=$!
export AWS_ACCESS_KEY_ID=AKIDBENCH AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1 \
  AWS_DEFAULT_REGION=us-east-1 AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:$port
for _ in $(seq 50); do
  timeout 20 "$python" - <<'PY' 2>/dev/null && break || sleep 0.2
import os, boto3
c = boto3.client("dynamodb", endpoint_url=os.environ["AWS_ENDPOINT_URL_DYNAMODB"])
s = {"AttributeName": "", "AttributeType": "S"}
c.create_table(TableName="tally-bench", BillingMode="PAY_PER_REQUEST",
  AttributeDefinitions=[dict(s, AttributeName=n) for n in ("pk", "sk", "ls", "lk")],
  KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
  GlobalSecondaryIndexes=[{"IndexName": "by_site", "Projection": {"ProjectionType": "KEYS_ONLY"},
    "KeySchema": [{"AttributeName": "ls", "KeyType": "HASH"}, {"AttributeName": "lk", "KeyType": "RANGE"}]}])
c.get_waiter("table_exists").wait(TableName="tally-bench")
PY
done

cat > "$work/env.json" <<JSON
{"AWS_ACCESS_KEY_ID":"AKIDBENCH","AWS_SECRET_ACCESS_KEY":"bench","AWS_SESSION_TOKEN":"bench-session",
 "AWS_REGION":"us-east-1","AWS_DEFAULT_REGION":"us-east-1","AWS_ENDPOINT_URL_DYNAMODB":"http://127.0.0.1:$port",
 "TABLE_NAME":"tally-bench","TALLY_ADMIN_TOKEN":"bench-root-token","LAMBDA_TASK_ROOT":"/var/task",
 "PATH":"/usr/bin:/bin","LANG":"C.UTF-8"}
JSON
task=$work/root/var/task
loader=$(cd "$task/lib" && ls ld-linux*)
chroot_bin=$(command -v chroot || echo /usr/sbin/chroot)
node "$root/bench/lambda/init_bench.js" --runs "$runs" --env-file "$work/env.json" \
  "tally bootstrap (chroot, as packaged)=[\"unshare\",\"-r\",\"$chroot_bin\",\"$work/root\",\"/var/task/bootstrap\"]" \
  "tally bootstrap (bundled ld.so, no chroot)=[\"$task/lib/$loader\",\"--library-path\",\"$task/lib\",\"$task/bootstrap\"]" \
  "python3 + boto3 (Debian $("$python" -c 'import boto3; print(boto3.__version__)'))=[\"$python\",\"$root/bench/lambda/python_seed_bootstrap.py\"]" \
  "python3 -S, empty (interpreter floor)=[\"$python\",\"-S\",\"-c\",\"import urllib.request,os; urllib.request.urlopen('http://'+os.environ['AWS_LAMBDA_RUNTIME_API']+'/2018-06-01/runtime/invocation/next')\"]"

echo
echo "package: $zip"
echo "  zip: $(stat -c %s "$zip") bytes; unpacked: $(du -sb "$task" | cut -f1) bytes" \
     "(bootstrap $(stat -c %s "$task/bootstrap"), lib/ $(du -sb "$task/lib" | cut -f1)," \
     "zoneinfo/ $(du -sb "$task/zoneinfo" | cut -f1))"
