# Sourced by tests/audit/run.sh and tests/browser/run.sh: starts `"$binary" serve --demo` on a
# free port and sets `url` (…/graphql), `token` (the demo's caller token) and `upstream` (the
# sample upstream's base URL) from what it prints. The demo is stopped when the sourcing script exits.
demo_log="$(mktemp)"
GATEWAY_LISTEN=127.0.0.1:0 "$binary" serve --demo >"$demo_log" 2>/dev/null &
demo_pid=$!
trap 'kill $demo_pid 2>/dev/null || true; rm -f "$demo_log"' EXIT
for _ in $(seq 1 300); do
  grep -q '^Authorization: Bearer ' "$demo_log" && break
  kill -0 "$demo_pid" 2>/dev/null || { echo "the demo exited"; exit 1; }
  sleep 0.1
done
url="$(sed -n 's/^elements-gateway listening on //p' "$demo_log")"
token="$(sed -n 's/^Authorization: Bearer //p' "$demo_log")"
upstream="$(sed -n 's/^elements-gateway demo: sample upstream at //p' "$demo_log")"
[ -n "$url" ] && [ -n "$token" ] || { echo "the demo printed no URL or token"; exit 1; }
