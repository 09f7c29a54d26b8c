"""The `live` scenario of bench/run.py: 1,000 subscriptions open on one gateway (half over
graphql-sse, half over graphql-transport-ws, driven by bench/live.mjs), all to the same page
of customers, then one change to a customer on it. The gateway runs on its defaults but for a
2 s TTL (so the change is picked up within 2 s, not 60); each caller holds 20 subscriptions,
the default per-caller limit. Reported: the gateway's RSS before and with the streams open,
and the time from the first subscriber's event (the refresh has just ended) to the last's."""

import json
import subprocess
import urllib.request

SUBSCRIBERS = 1000
PER_CALLER = 20
QUERY = "subscription { customers(first: 50) { nodes { id organization email } } }"


def rename(upstream, customer, organization):
    request = urllib.request.Request(
        f"{upstream}/__mock/customers/{customer}/organization",
        data=organization.encode(),
        method="PUT",
    )
    urllib.request.urlopen(request, timeout=10).close()


def scenario_live(procs, bench):
    if not (bench.ROOT / "tests" / "clients" / "node_modules").is_dir():
        raise SystemExit("the live scenario drives the npm clients: run `npm ci` in tests/clients first")
    upstream = bench.start_mock(procs, 500, 5)
    child, gateway = bench.start_gateway(procs, upstream, cpu=0, extra_env={"GATEWAY_CACHE_TTL_SECS": "2"})
    url = f"{gateway}/graphql"
    first = json.loads(bench.post(url, "{ customers(first: 1) { totalCount nodes { id } } }"))
    customer = first["data"]["customers"]["nodes"][0]["id"]
    idle_rss = bench.rss_mib(child.pid)["VmRSS"]
    tokens = [bench.caller_token({"sub": f"bench-live-{n}"}) for n in range(SUBSCRIBERS // PER_CALLER)]
    driver = subprocess.Popen(
        ["taskset", "-c", "1", "node", str(bench.ROOT / "bench" / "live.mjs")],
        env={"GATEWAY_URL": url, "TOKENS": json.dumps(tokens), "SUBSCRIBERS": str(SUBSCRIBERS),
             "QUERY": QUERY, "PATH": bench.os.environ["PATH"]},
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        ready = json.loads(driver.stdout.readline())
        open_rss = bench.rss_mib(child.pid)["VmRSS"]
        rename(upstream, customer, "Changed For The Benchmark Ltd")
        driver.stdin.write("go\n")
        driver.stdin.flush()
        times = json.loads(driver.stdout.readline())
    finally:
        driver.kill()
    spread = times["last"] - times["first"]
    bench.table(
        f"{SUBSCRIBERS} subscriptions ({SUBSCRIBERS // 2} SSE, {SUBSCRIBERS // 2} WebSocket) to one page, "
        "one change, TTL 2 s, gateway on core 0",
        [[f"{ready['ready']:.0f}", f"{idle_rss:.1f}", f"{open_rss:.1f}", f"{times['first']:.0f}",
          f"{spread:.1f}", f"{times['median'] - times['first']:.1f}"]],
        ["all subscribed ms", "RSS idle MiB", "RSS streams open MiB", "change to first event ms",
         "first to last event ms", "first to median ms"],
    )
    print()
    print(f"- the change waits for the next refresh (TTL 2 s): {times['first']:.0f} ms to the first event")
    bench.target("refresh to the last subscriber's event", spread, 250, at_most=True, unit=" ms")
    bench.target("RSS with the streams open", open_rss, 256, at_most=True, unit=" MiB")
