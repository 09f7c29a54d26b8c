# Sourced by tests/audit/run.sh, tests/browser/run.sh and tests/clients/run.sh: starts
# `"$binary" serve --demo` on a free port and sets `url` (…/graphql), `token` (the demo's caller
# token) and `upstream` (the sample upstream's base URL) from what it prints. `start_demo PREFIX
# [NAME=VALUE …]` starts another, with those settings, and sets `${PREFIX}url` and so on. Every
# demo is stopped when the sourcing script exits.
demo_pids=()
demo_logs=()
trap 'kill "${demo_pids[@]}" 2>/dev/null || true; rm -f "${demo_logs[@]}"' EXIT

start_demo() {
  local prefix="$1" log pid
  shift
  log="$(mktemp)"
  env GATEWAY_LISTEN=127.0.0.1:0 "$@" "$binary" serve --demo >"$log" 2>/dev/null &
  pid=$!
  demo_pids+=("$pid")
  demo_logs+=("$log")
  for _ in $(seq 1 300); do
    grep -q '^Authorization: Bearer ' "$log" && break
    kill -0 "$pid" 2>/dev/null || { echo "the demo exited"; exit 1; }
    sleep 0.1
  done
  printf -v "${prefix}url" '%s' "$(sed -n 's/^elements-gateway listening on //p' "$log")"
  printf -v "${prefix}token" '%s' "$(sed -n 's/^Authorization: Bearer //p' "$log")"
  printf -v "${prefix}upstream" '%s' "$(sed -n 's/^elements-gateway demo: sample upstream at //p' "$log")"
  local started_url="${prefix}url" started_token="${prefix}token"
  [ -n "${!started_url}" ] && [ -n "${!started_token}" ] || { echo "the demo printed no URL or token"; exit 1; }
}

start_demo ""
