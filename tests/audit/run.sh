#!/usr/bin/env bash
# Starts `elements-gateway serve --demo` on a free port and runs the GraphQL-over-HTTP audit
# against it with the demo's caller token. Usage: tests/audit/run.sh [path/to/elements-gateway]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
binary="$(realpath "${1:-$here/../../target/debug/elements-gateway}")"
cd "$here"
npm ci --no-audit --no-fund --loglevel=error
node schema.mjs
# shellcheck source=../start-demo.sh
source "$here/../start-demo.sh"
AUDIT_URL="$url" AUDIT_TOKEN="$token" node audit.mjs
