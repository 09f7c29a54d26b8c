#!/usr/bin/env bash
# Runs the real-client checks (Apollo Client from npm) against `serve --demo`, whose sample
# upstream is told to fail. Usage: tests/clients/run.sh [path/to/elements-gateway]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
binary="$(realpath "${1:-$here/../../target/debug/elements-gateway}")"
cd "$here"
npm ci --no-audit --no-fund --loglevel=error
# shellcheck source=../start-demo.sh
source "$here/../start-demo.sh"
GATEWAY_URL="$url" GATEWAY_TOKEN="$token" UPSTREAM_URL="$upstream" node partial.mjs
