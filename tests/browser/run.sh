#!/usr/bin/env bash
# Starts `elements-gateway serve --demo` on a free port and drives its GraphiQL page in
# headless Chromium (tests/browser/graphiql.mjs). Usage:
#   tests/browser/run.sh [path/to/elements-gateway] [screenshot.png]
# Needs /usr/bin/chromium (Debian's `chromium` package) and a binary built with the UI bundle.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
binary="$(realpath "${1:-$here/../../target/debug/elements-gateway}")"
screenshot="$(realpath -m "${2:-$here/../../target/graphiql.png}")"
cd "$here"
npm ci --no-audit --no-fund --loglevel=error
log="$(mktemp)"
GATEWAY_LISTEN=127.0.0.1:0 "$binary" serve --demo >"$log" 2>/dev/null &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 1 300); do
  grep -q '^Authorization: Bearer ' "$log" && break
  kill -0 "$pid" 2>/dev/null || { echo "the demo exited"; exit 1; }
  sleep 0.1
done
url="$(sed -n 's/^elements-gateway listening on //p' "$log")"
token="$(sed -n 's/^Authorization: Bearer //p' "$log")"
[ -n "$url" ] && [ -n "$token" ] || { echo "the demo printed no URL or token"; exit 1; }
mkdir -p "$(dirname "$screenshot")"
GATEWAY_URL="$url" GATEWAY_TOKEN="$token" SCREENSHOT="$screenshot" node graphiql.mjs
