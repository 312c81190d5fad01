#!/usr/bin/env bash
# Installs the npm tools of the DynamoDB tests (dynalite, the AWS SDK's SigV4
# signer) into tests/dynamodb/node_modules from the committed lockfile.
# Idempotent and safe to run from parallel tests (flock); fast when done.
set -euo pipefail
cd "$(dirname "$0")"
exec 9>.npm-install.lock
flock 9
stamp=node_modules/.tally-installed
if [[ -f $stamp && $stamp -nt package-lock.json && -x node_modules/.bin/dynalite ]]; then
  exit 0
fi
command -v npm >/dev/null || { echo "npm is missing: apt-get install -y nodejs npm" >&2; exit 1; }
npm ci --no-audit --no-fund --loglevel=error >&2
touch "$stamp"
