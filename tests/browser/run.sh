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
# A gateway that is not the demo (its upstream need not answer: only its page is looked at).
normal_log="$(mktemp)"
env GATEWAY_LISTEN=127.0.0.1:0 GATEWAY_UPSTREAM_URL=http://127.0.0.1:9 GATEWAY_UPSTREAM_TOKEN=unused \
  GATEWAY_JWT_SECRET=browser-test-secret-0123456789abcdef "$binary" serve >"$normal_log" 2>/dev/null &
demo_pids+=("$!")
demo_logs+=("$normal_log")
for _ in $(seq 1 300); do
  grep -q '^elements-gateway listening on ' "$normal_log" && break
  sleep 0.1
done
normal_url="$(sed -n 's/^elements-gateway listening on //p' "$normal_log")"
GATEWAY_URL="$url" GATEWAY_TOKEN="$token" UPSTREAM_URL="$upstream" NORMAL_URL="$normal_url" \
  SCREENSHOT="$screenshot" node graphiql.mjs
