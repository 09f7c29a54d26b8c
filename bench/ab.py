#!/usr/bin/env python3
"""Two gateway binaries head to head on the warm benchmark query: both serve the same mock
upstream and take turns on core 0 (wrk on core 1), so a change is judged against its parent
in one run rather than through each one's ratio to the baseline, which moves with the host.

    git worktree add /tmp/before HEAD~1 && (cd /tmp/before && cargo build --release)
    cargo build --release
    python3 bench/ab.py /tmp/before/target/release/elements-gateway target/release/elements-gateway

Both run on the defaults a user gets (the access log on, the 60 s cache TTL, the default
limits). Prints each round's requests/s and p99, and the medians, with the CPU time each
gateway spent per request, in its own code and in the kernel (steadier than throughput on a
shared host). `--reuse-off` turns whole-answer reuse off, so every request is executed;
`--warn` sets logs at `warn`; `--restricted` sends, instead, a caller restricted by
`GATEWAY_JWT_CUSTOMER_CLAIM` to the 50 customers of the query's answer (a token of a few KB).
The data set is 500 customers × 4 products unless `--customers`/`--products` say otherwise.
"""

import argparse
import pathlib
import statistics
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import harness as h  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=pathlib.Path)
    parser.add_argument("after", type=pathlib.Path)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--secs", type=int, default=10)
    parser.add_argument("--customers", type=int, default=500)
    parser.add_argument("--products", type=int, default=4)
    parser.add_argument("--restricted", action="store_true")
    parser.add_argument("--warn", action="store_true", help="GATEWAY_LOG_LEVEL=warn")
    parser.add_argument("--reuse-off", action="store_true", help="GATEWAY_CACHE_ANSWER_BYTES=0: every request executed")
    args = parser.parse_args()
    extra = (h.REUSE_OFF if args.reuse_off else {}) | (h.WARN if args.warn else {})
    binaries = {"before": args.before.resolve(), "after": args.after.resolve()}
    procs = h.Processes()
    runs = {name: [] for name in binaries}
    token = None
    try:
        upstream = h.start_mock(procs, args.customers, args.products)
        if args.restricted:
            h.GATEWAY = binaries["after"]
            child, gateway = h.start_gateway(procs, upstream)
            token = h.caller_token({"elements_customers": h.first_ids(f"{gateway}/graphql", 50)})
            procs.stop(child)
            extra |= h.RESTRICTED
        urls = {}
        for name, binary in binaries.items():
            h.GATEWAY = binary
            child, url = h.start_variant(procs, upstream, extra)
            h.post(url, "{ customers { totalCount } }", timeout=300, token=token)
            h.wrk(url, h.WARM_QUERY, 64, 2, token=token)
            urls[name] = (url, child.pid)
        for _ in range(args.rounds):
            for name, (url, pid) in urls.items():
                runs[name].append(h.wrk(url, h.WARM_QUERY, 64, args.secs, token=token, pid=pid))
    finally:
        procs.stop_all()
    print("| gateway | rounds (requests/s, p99 ms) | median requests/s | median p99 ms | median CPU µs/request (user + kernel) |")
    print("|---|---|---|---|---|")
    for name, rounds in runs.items():
        each = ", ".join(f"{r['rps']:.0f} / {r['p99']:.2f}" for r in rounds)
        print(
            f"| {name} | {each} | {statistics.median(r['rps'] for r in rounds):.0f} "
            f"| {statistics.median(r['p99'] for r in rounds):.2f} "
            f"| {statistics.median(r['cpu_us'] for r in rounds):.2f} "
            f"({statistics.median(r['user_us'] for r in rounds):.2f} + {statistics.median(r['sys_us'] for r in rounds):.2f}) |"
        )


if __name__ == "__main__":
    main()
