#!/usr/bin/env bash
# Starts `elements-gateway serve --demo` on a free port (data fresh for one second, so a
# subscription sees a change soon) and drives its GraphiQL page in headless Chromium
# (tests/browser/graphiql.mjs). Usage:
#   tests/browser/run.sh [path/to/elements-gateway] [screenshot.png]
# Needs /usr/bin/chromium (Debian's `chromium` package) and a binary built with the UI bundle.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
binary="$(realpath "${1:-$here/../../target/debug/elements-gateway}")"
screenshot="$(realpath -m "${2:-$here/../../target/graphiql.png}")"
cd "$here"
npm ci --no-audit --no-fund --loglevel=error
export GATEWAY_CACHE_TTL_SECS=1
# shellcheck source=../start-demo.sh
source "$here/../start-demo.sh"
mkdir -p "$(dirname "$screenshot")"
GATEWAY_URL="$url" GATEWAY_TOKEN="$token" UPSTREAM_URL="$upstream" SCREENSHOT="$screenshot" \
  node graphiql.mjs
