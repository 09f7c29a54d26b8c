#!/usr/bin/env bash
# Runs the real-client checks (npm packages) against `serve --demo`:
# 1. Apollo Client 4 on partial answers, for which the sample upstream is told to fail (and
#    then to answer again); then what a front end does: Relay paging both ways, persisted
#    queries over GET, the HTTP cache (partial.mjs, frontend.mjs); BatchHttpLink's batched
#    POSTs (batch.mjs); an agent through the official MCP client, on the demo's manifest and
#    in safelist mode (mcp.mjs), and a claim-scoped caller through its tools (mcp-scope.mjs);
# 2. GraphQL Code Generator's client preset makes a persisted-documents manifest from
#    operations.graphql and schema/schema.graphql; a second demo serves only that manifest
#    (safelist mode), and urql with graphcache walks the customers by documentId (urql.mjs);
# 3. live answers through graphql-sse, graphql-ws and Apollo's GraphQLWsLink, against a demo
#    whose data are fresh for a second (live.mjs).
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
GATEWAY_URL="$url" GATEWAY_TOKEN="$token" node batch.mjs
GATEWAY_URL="$url" GATEWAY_TOKEN="$token" node mcp.mjs

rm -rf gql
npx graphql-codegen --config codegen.json >/dev/null
start_demo safelist_ GATEWAY_PERSISTED_DOCUMENTS_FILE="$here/gql/persisted-documents.json" \
  GATEWAY_PERSISTED_DOCUMENTS_ONLY=true
GATEWAY_URL="$safelist_url" GATEWAY_TOKEN="$safelist_token" MANIFEST=gql/persisted-documents.json node urql.mjs
GATEWAY_URL="$safelist_url" GATEWAY_TOKEN="$safelist_token" SAFELIST=1 node mcp.mjs

# A gateway scoping callers by a claim, over a stand-alone mock upstream, with a JWT secret
# known here so that mcp-scope.mjs can mint scoped tokens.
started_line() { # LOG PREFIX: waits for the line starting with PREFIX, prints what follows
  for _ in $(seq 1 300); do
    grep -q "^$2" "$1" && break
    sleep 0.1
  done
  sed -n "s|^$2||p" "$1" | head -n 1
}
mock_log="$(mktemp)"
"$binary" mock-upstream --listen 127.0.0.1:0 >"$mock_log" 2>/dev/null &
demo_pids+=("$!")
demo_logs+=("$mock_log")
mock_url="$(started_line "$mock_log" 'mock upstream listening on ' | cut -d' ' -f1)"
scoped_log="$(mktemp)"
secret="clients-test-secret-0123456789abcdefgh"
env GATEWAY_LISTEN=127.0.0.1:0 GATEWAY_UPSTREAM_URL="$mock_url" \
  GATEWAY_UPSTREAM_TOKEN=mock-upstream-token GATEWAY_JWT_SECRET="$secret" \
  GATEWAY_JWT_CUSTOMER_CLAIM=elements_customers GATEWAY_JWT_ALL_CUSTOMERS_SCOPE=customers.all \
  GATEWAY_PERSISTED_DOCUMENTS_FILE="$here/gql/persisted-documents.json" \
  "$binary" serve >"$scoped_log" 2>/dev/null &
demo_pids+=("$!")
demo_logs+=("$scoped_log")
scoped_url="$(started_line "$scoped_log" 'elements-gateway listening on ')"
GATEWAY_URL="$scoped_url" JWT_SECRET="$secret" node mcp-scope.mjs

start_demo live_ GATEWAY_CACHE_TTL_SECS=1
GATEWAY_URL="$live_url" GATEWAY_TOKEN="$live_token" UPSTREAM_URL="$live_upstream" node live.mjs
