#!/usr/bin/env bash
# Runs the real-client checks (npm packages) against `serve --demo`:
# 1. Apollo Client 4 on partial answers, for which the sample upstream is told to fail (and
#    then to answer again); then what a front end does: Relay paging both ways, persisted
#    queries over GET, the HTTP cache (partial.mjs, frontend.mjs);
# 2. GraphQL Code Generator's client preset makes a persisted-documents manifest from
#    operations.graphql and schema/schema.graphql; a second demo serves only that manifest
#    (safelist mode), and urql with graphcache walks the customers by documentId (urql.mjs).
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

rm -rf gql
npx graphql-codegen --config codegen.json >/dev/null
safelist_log="$(mktemp)"
GATEWAY_LISTEN=127.0.0.1:0 GATEWAY_PERSISTED_DOCUMENTS_FILE="$here/gql/persisted-documents.json" \
  GATEWAY_PERSISTED_DOCUMENTS_ONLY=true "$binary" serve --demo >"$safelist_log" 2>/dev/null &
safelist_pid=$!
trap 'kill $demo_pid $safelist_pid 2>/dev/null || true; rm -f "$demo_log" "$safelist_log"' EXIT
for _ in $(seq 1 300); do
  grep -q '^Authorization: Bearer ' "$safelist_log" && break
  kill -0 "$safelist_pid" 2>/dev/null || { echo "the safelist demo exited"; exit 1; }
  sleep 0.1
done
safelist_url="$(sed -n 's/^elements-gateway listening on //p' "$safelist_log")"
safelist_token="$(sed -n 's/^Authorization: Bearer //p' "$safelist_log")"
GATEWAY_URL="$safelist_url" GATEWAY_TOKEN="$safelist_token" MANIFEST=gql/persisted-documents.json node urql.mjs
