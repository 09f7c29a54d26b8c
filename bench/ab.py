#!/usr/bin/env python3
"""Two gateway binaries head to head on the warm benchmark query: both serve the same mock
upstream and take turns on core 0 (wrk on core 1), so a change is judged against its parent
in one run rather than through each one's ratio to the baseline, which moves with the host.

    git worktree add /tmp/before HEAD~1 && (cd /tmp/before && cargo build --release)
    cargo build --release
    python3 bench/ab.py /tmp/before/target/release/elements-gateway target/release/elements-gateway

Prints each round's requests/s and p99, and the medians. `--defaults` runs both on the
defaults a user gets (the access log on, the 60 s cache TTL, the default cost limit) rather
than the harness's settings (logs at warn, a TTL of an hour, a cost limit of 1,000,000); `--reuse-off` turns whole-answer reuse
off, so every request is executed. `--restricted` sends, instead, a
caller restricted by `GATEWAY_JWT_CUSTOMER_CLAIM` to the 50 customers of the query's answer
(a token of a few KB).
"""

import argparse
import importlib.util
import pathlib
import statistics

HERE = pathlib.Path(__file__).resolve().parent
spec = importlib.util.spec_from_file_location("bench_run", HERE / "run.py")
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=pathlib.Path)
    parser.add_argument("after", type=pathlib.Path)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--secs", type=int, default=10)
    parser.add_argument("--restricted", action="store_true")
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--products", type=int, default=5)
    parser.add_argument(
        "--defaults",
        action="store_true",
        help="the defaults a user gets (access log on, 60 s TTL, default cost limit) instead of the harness's",
    )
    parser.add_argument(
        "--reuse-off",
        action="store_true",
        help="GATEWAY_CACHE_ANSWER_BYTES=0: every request executed",
    )
    args = parser.parse_args()
    settings = bench.gateway_env

    def gateway_env(upstream, port):
        env = settings(upstream, port)
        if args.defaults:
            for harness_only in ("GATEWAY_LOG_LEVEL", "GATEWAY_CACHE_TTL_SECS", "GATEWAY_LIMITS_COMPLEXITY"):
                env.pop(harness_only)
        if args.reuse_off:
            env["GATEWAY_CACHE_ANSWER_BYTES"] = "0"
        return env

    bench.gateway_env = gateway_env
    binaries = {"before": args.before.resolve(), "after": args.after.resolve()}
    procs = bench.Processes()
    runs = {name: [] for name in binaries}
    token = None
    try:
        upstream = bench.start_mock(procs, args.customers, args.products)
        urls = {}
        if args.restricted:
            bench.GATEWAY = binaries["after"]
            child, gateway = bench.start_gateway(procs, upstream)
            ids = bench.first_ids(f"{gateway}/graphql", 50)
            token = bench.caller_token({"elements_customers": ids})
            procs.stop(child)
        for name, binary in binaries.items():
            bench.GATEWAY = binary
            if args.restricted:
                _, url = bench.start_variant(procs, upstream, bench.RESTRICTED)
            else:
                _, gateway = bench.start_gateway(procs, upstream)
                url = f"{gateway}/graphql"
            bench.post(url, "{ customers { totalCount } }", timeout=300, token=token)
            bench.wrk(url, bench.WARM_QUERY, 64, 2, token=token)
            urls[name] = url
        for _ in range(args.rounds):
            for name, url in urls.items():
                runs[name].append(bench.wrk(url, bench.WARM_QUERY, 64, args.secs, token=token))
    finally:
        procs.stop_all()
    print("| gateway | rounds (requests/s, p99 ms) | median requests/s | median p99 ms |")
    print("|---|---|---|---|")
    for name, rounds in runs.items():
        each = ", ".join(f"{r['rps']:.0f} / {r['p99']:.2f}" for r in rounds)
        print(
            f"| {name} | {each} | {statistics.median(r['rps'] for r in rounds):.0f} "
            f"| {statistics.median(r['p99'] for r in rounds):.2f} |"
        )


if __name__ == "__main__":
    main()
