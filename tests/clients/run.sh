#!/usr/bin/env bash
# Runs the real-client checks (Apollo Client from npm) against `serve --demo`: partial answers
# first, for which the sample upstream is told to fail (and then to answer again), then what a
# front end does (paging both ways, persisted queries over GET, the HTTP cache).
# Usage: tests/clients/run.sh [path/to/elements-gateway]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
binary="$(realpath "${1:-$here/../../target/debug/elements-gateway}")"
cd "$here"
npm ci --no-audit --no-fund --loglevel=error
# shellcheck source=../start-demo.sh
source "$here/../start-demo.sh"
GATEWAY_URL="$url" GATEWAY_TOKEN="$token" UPSTREAM_URL="$upstream" node partial.mjs
GATEWAY_URL="$url" GATEWAY_TOKEN="$token" node frontend.mjs
