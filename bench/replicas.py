"""The `replicas` scenario of bench/run.py: three gateways over one mock upstream, without and
with a shared Redis, counting the upstream's listing reads for a cold stampede and per TTL
window under steady load."""

import asyncio
import concurrent.futures
import shutil

CUSTOMERS = 2_000
PAGES = CUSTOMERS // 50  # the mock's page cap
TTL_SECS = 2
LOAD_SECS = 10


def scenario_replicas(procs, bench):
    if not shutil.which("redis-server"):
        raise SystemExit("redis-server is missing (Debian: apt-get install redis-server)")
    redis_port = bench.free_port()
    redis = procs.start(
        ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cpu=1,
    )
    rows = []
    for label, extra in (
        ("without Redis", {}),
        ("with Redis", {"GATEWAY_REDIS_URL": f"redis://127.0.0.1:{redis_port}", "GATEWAY_REDIS_PREFIX": "bench:"}),
    ):
        upstream = bench.start_mock(procs, CUSTOMERS, 5, latency_ms=20)
        gateways = []
        for _ in range(3):
            port = bench.free_port()
            env = bench.gateway_env(upstream, port) | {"GATEWAY_CACHE_TTL_SECS": str(TTL_SECS)} | extra
            procs.start([str(bench.GATEWAY), "serve"], env=env, cpu=0)
            bench.wait_for(f"http://127.0.0.1:{port}/readyz")
            gateways.append(("127.0.0.1", port))
        listing = lambda: bench.mock_stats(upstream)["listing_requests"]  # noqa: E731

        before = listing()
        query = "{ customers { totalCount } }"

        async def cold():
            await asyncio.gather(*(bench.stampede(host, port, query, 67) for host, port in gateways))

        asyncio.run(cold())
        cold_reads = listing() - before

        before = listing()
        with concurrent.futures.ThreadPoolExecutor(3) as pool:
            runs = list(pool.map(
                lambda gateway: bench.wrk(f"http://{gateway[0]}:{gateway[1]}/graphql", bench.WARM_QUERY, 8, LOAD_SECS),
                gateways,
            ))
        windows = LOAD_SECS / TTL_SECS
        per_window = (listing() - before) / windows
        errors = sum(run["errors"] for run in runs)
        rows.append([label, cold_reads, f"{per_window:.1f}", f"{sum(run['rps'] for run in runs):.0f}", errors])
        for child in list(procs.children):
            if child is not redis:
                procs.stop(child)
    bench.table(
        f"Three replicas over one upstream ({CUSTOMERS} customers, {PAGES} pages of 50, 20 ms latency), "
        f"TTL {TTL_SECS} s: 201 identical cold requests spread over them, then {LOAD_SECS} s of load on all three",
        rows,
        ["replicas", "cold: listing reads", "listing reads per TTL window", "requests/s (all three)", "errors"],
    )
    without, shared = rows
    print(
        f"\nwith Redis, cold: {shared[1]} reads = {PAGES} pages once: {'met' if shared[1] == PAGES else 'MISSED'}; "
        f"without: {without[1]} (3 × {PAGES} = {3 * PAGES})"
    )
    print(
        f"with Redis, per TTL window: {shared[2]} (one fill is {PAGES}); without: {without[2]}"
    )
