#!/usr/bin/env bash
# Builds web/dist — the résumé demo (/demo/) and the owner dashboard
# (/dashboard/) — which the tally build then embeds. Installs the npm packages
# from package-lock.json (npm ci) only when the lockfile changed, and builds
# only when a source changed, so running it again is quick and silent.
# With --test, also installs the browser tests' packages (tests/browser).
# Without a Node.js >= 20.19 it says so and exits 0: tally then serves the
# plain counter.js demo at /demo/ and a note at /dashboard/.
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "web/build.sh: Node.js/npm not found; skipping the web build" >&2
  exit 0
fi
if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>20||(a===20&&b>=19)?0:1)'; then
  echo "web/build.sh: Node.js $(node --version) is older than 20.19 (Vite 7); skipping the web build" >&2
  exit 0
fi

# Runs a command quietly; shows its output only if it fails.
quiet() {
  local out
  if ! out=$("$@" 2>&1); then
    echo "$out" >&2
    echo "web/build.sh: failed: $*" >&2
    exit 1
  fi
}

# npm ci in $1 unless node_modules is already what the lockfile says.
install() {
  if [[ ! -f "$1/node_modules/.package-lock.json" || "$1/package-lock.json" -nt "$1/node_modules/.package-lock.json" ]]; then
    quiet npm ci --prefix "$1" --no-audit --no-fund --loglevel=error
  fi
}

install .
if [[ "${1:-}" == "--test" ]]; then
  install ../tests/browser
fi

stamp=node_modules/.tally-web-build
if [[ ! -f "$stamp" || ! -f dist/demo/index.html || ! -f dist/dashboard/index.html ]] ||
   [[ -n "$(find react/src demo dashboard package-lock.json tsconfig.base.json -newer "$stamp" -not -path '*/dist/*' -print -quit)" ]]; then
  quiet npm run build --silent
  touch "$stamp"
fi
