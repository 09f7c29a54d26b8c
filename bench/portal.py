"""The `portal` scenario of bench/run.py: a partner portal's customer list with each customer's
backup status, latest jobs and Microsoft 365 seats, over the mock with 50 ms of upstream
latency, the gateway on its defaults (the access log on, jobs fresh for 30 s). Cold (the services listing cached, nothing of the partner API): time to answer and
upstream requests, estimated and made. Warm: throughput against the baseline answering the
same bytes."""

import json
import statistics
import time
import urllib.request

PORTAL = (
    "{ customers(first: 50) { nodes { id organization backupStatus "
    "backupJobs(first: 5) { status startTime } "
    "seats(platform: MICROSOFT_365) { assignedUserSeats } } } }"
)
LATENCY_MS = 50


def post_cost(bench, url, query):
    request = urllib.request.Request(
        url,
        data=json.dumps({"query": query, "extensions": {"cost": True}}).encode(),
        headers={"content-type": "application/json", "authorization": f"Bearer {bench.TOKEN}"},
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())


def scenario_portal(procs, args, bench):
    upstream = bench.start_mock(procs, 10_000, 5, latency_ms=LATENCY_MS)
    gateway_child, gateway = bench.start_gateway(procs, upstream)
    url = f"{gateway}/graphql"
    bench.post(url, "{ customers { totalCount } }", timeout=300)
    before = bench.mock_stats(upstream)["requests"]
    started = time.perf_counter()
    cold = post_cost(bench, url, PORTAL)
    cold_ms = (time.perf_counter() - started) * 1000
    made = bench.mock_stats(upstream)["requests"] - before
    if cold.get("errors"):
        raise SystemExit(f"the portal query failed: {cold['errors'][:1]}")
    cost = cold["extensions"]["cost"]["upstreamRequests"]
    again = post_cost(bench, url, PORTAL)
    bench.table(
        f"Portal page cold: 50 customers' status, 5 jobs and seats, {LATENCY_MS} ms upstream latency, listing cached",
        [[f"{cold_ms:.0f}", cost["estimated"], made,
          again["extensions"]["cost"]["upstreamRequests"]["made"]]],
        ["time to answer ms", "upstream requests estimated", "made", "made again (warm)"],
    )
    ceiling = -(-made // 8) * LATENCY_MS
    print(f"\n{made} requests at concurrency 8 need at least {ceiling} ms of upstream latency; "
          f"answered in {cold_ms:.0f} ms")
    bench.target("cold, time to the last byte", cold_ms, 1100, at_most=True, unit=" ms")
    answer = bench.post(url, PORTAL)
    baseline, baseline_url = bench.start_baseline(procs, answer)
    servers = {"gateway": url, "baseline": baseline_url}
    runs = {name: [] for name in servers}
    for _ in range(args.rounds):
        for name, target in servers.items():
            runs[name].append(bench.wrk(target, PORTAL, 64, args.secs))
    procs.stop(baseline)
    median = {
        name: {key: statistics.median(run[key] for run in results) for key in ("rps", "p50", "p99")}
        | {"errors": sum(run["errors"] for run in results)}
        for name, results in runs.items()
    }
    base = median["baseline"]
    bench.table(
        f"Portal page warm, 64 connections, {args.secs} s × {args.rounds} rounds (medians)",
        [[name, f"{m['rps']:.0f}", f"{m['p50']:.2f}", f"{m['p99']:.2f}", m["errors"],
          f"{m['rps'] / base['rps']:.2f}"] for name, m in median.items()],
        ["server", "requests/s", "p50 ms", "p99 ms", "errors", "of baseline"],
    )
    print()
    bench.target("warm, throughput × baseline", median["gateway"]["rps"] / base["rps"], 0.25)
    procs.stop(gateway_child)
