#!/usr/bin/env bash
# Installs the Debian 12 packages Tally needs to build (and, with --test, to
# run its whole test suite; with --tidy, clang-tidy for scripts/tidy.sh).
# Safe to run again: installs only what is missing.
set -euo pipefail

packages=(
  g++ cmake ninja-build pkg-config
  libboost-dev libboost-system-dev nlohmann-json3-dev libspdlog-dev libfmt-dev libcli11-dev
  libsqlite3-dev libssl-dev libcctz-dev tzdata ca-certificates
  nodejs  # builds the web pages (npm comes with it)
)
if [[ "${1:-}" == "--tidy" ]]; then
  packages+=(clang-tidy)
fi
if [[ "${1:-}" == "--test" ]]; then
  packages+=(libgtest-dev libgmock-dev clang libclang-rt-14-dev)
  # Browser tests (tests/browser): Debian's Chromium and the font badges are measured against.
  packages+=(chromium fonts-dejavu-core)
  # nginx is the load balancer of the scale-out test; wrk drives the bench smoke test.
  packages+=(nginx-light wrk)
  # The Lambda package (deploy/aws/package.sh) and its test and benchmark
  # (tests/lambda, bench/lambda: the Python 3 + boto3 side of the comparison).
  # cfn-lint is not in Debian: pipx install cfn-lint (else its test is skipped).
  # advzip (advancecomp) recompresses the zip with zopfli.
  packages+=(patchelf zip unzip advancecomp python3-boto3)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi

sudo=""
if [[ $(id -u) -ne 0 ]]; then
  sudo="sudo"
fi
echo "Installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
