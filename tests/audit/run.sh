#!/usr/bin/env bash
# Starts `elements-gateway serve --demo` on a free port and runs the GraphQL-over-HTTP audit
# against it with the demo's caller token. Usage: tests/audit/run.sh [path/to/elements-gateway]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
binary="$(realpath "${1:-$here/../../target/debug/elements-gateway}")"
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
AUDIT_URL="$url" AUDIT_TOKEN="$token" node audit.mjs
