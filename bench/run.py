#!/usr/bin/env python3
"""The speed benchmark: the gateway against a bare-axum baseline, and its cost to the upstream.

Starts the shipped mock upstream (deterministic data, page cap 50), the release gateway and the
baseline (examples/baseline.rs, answering with the gateway's own bytes), drives them with wrk,
and prints one table per scenario, each target beside its figure with met or MISSED. Every
gateway runs on the defaults a user gets (the access log on, written to a file; the 60 s
TTL; the default limits); `--warn` adds gateways with logs at `warn`, printed apart, for
comparison. Ratios come from one run on one machine: gateway and baseline alternate (A/B),
each pinned to core 0, with wrk on core 1.

    python3 bench/run.py [--secs 10] [--rounds 3] [--warn] [--only warm,varied,filter,n1,rss,stampede,start,replicas,portal,live]

Needs: cargo (builds the release binary and the baseline), wrk (Debian's `wrk`), taskset,
redis-server (the replicas scenario), node with tests/clients' packages (the live scenario:
`npm ci --prefix tests/clients`).
"""

import argparse
import asyncio
import json
import pathlib
import re
import shutil
import statistics
import subprocess
import sys
import time

import harness as h
import live
from harness import mock_stats, post, start_gateway, start_mock, table, wrk
import memory
import portal
import replicas
import varied
import warm

def scenario_filter(args, gateway, reuse="on", target=5):
    url = f"{gateway}/graphql"
    dates = sorted(
        p["expirationDate"]
        for p in json.loads(post(url, "{ products { expirationDate } }"))["data"]["products"]
        if p["expirationDate"]
    )
    cutoff = dates[500]
    query = f'{{ products(filter: {{expiringBefore: "{cutoff}"}}) {{ service expirationDate customer {{ organization }} }} }}'
    matched = len(json.loads(post(url, query))["data"]["products"])
    result = wrk(url, query, 16, args.secs)
    table(
        f"Warm `products(filter: {{expiringBefore}})`: {matched} of {len(dates)} dated products, answer reuse {reuse}, 16 connections, {args.secs} s",
        [[f"{result['rps']:.0f}", f"{result['p50']:.2f}", f"{result['p99']:.2f}", result["errors"]]],
        ["requests/s", "p50 ms", "p99 ms", "errors"],
    )
    print()
    h.target(f"p99, answer reuse {reuse}", result["p99"], target, at_most=True, unit=" ms")


def scenario_n1(procs, upstream):
    """A gateway of its own, its listing just filled: the warm scenario's gateway is past its
    60 s TTL by now, and the refresh a query starts would be counted as the query's reads."""
    child, gateway = h.start_gateway(procs, upstream)
    url = f"{gateway}/graphql"
    post(url, "{ customers { totalCount } }", timeout=300)
    before = mock_stats(upstream)["requests"]
    answer = json.loads(post(url, "{ products { customer { organization } } }"))
    after = mock_stats(upstream)["requests"]
    table(
        "Warm `products { customer { organization } }`",
        [[len(answer["data"]["products"]), after - before]],
        ["products", "upstream requests"],
    )
    print()
    procs.stop(child)
    h.target("upstream requests", after - before, 0, at_most=True)


STAMPEDE_QUERIES = [
    ("`customers(first: 50)` (the warm query: answered from the first page)", h.WARM_QUERY),
    (
        "`customers(first: 50) { totalCount … }` (needs every page)",
        h.WARM_QUERY.replace("{ nodes", "{ totalCount nodes"),
    ),
]


def scenario_stampede(procs):

    rows = []
    for label, query in STAMPEDE_QUERIES:
        upstream = start_mock(procs, 500, 5, latency_ms=50)
        child, gateway = start_gateway(procs, upstream, cpu=None)
        before = mock_stats(upstream)["requests"]
        host, port = gateway.removeprefix("http://").split(":")
        took = asyncio.run(h.stampede(host, int(port), query, 200))
        # An early answer leaves the read going on: wait for it before counting.
        post(f"{gateway}/graphql", "{ customers { totalCount } }")
        after = mock_stats(upstream)["requests"]
        procs.stop(child)
        rows.append([label, after - before, f"{statistics.median(took) * 1000:.0f}", f"{max(took) * 1000:.0f}"])
    table(
        "Cold stampede: 200 identical requests at once, 500 customers (10 pages of 50), upstream latency 50 ms",
        rows,
        ["query", "upstream requests", "median ms", "slowest ms"],
    )
    print()
    for label, requests, _, slowest in rows:
        name = label.split(" (")[0]
        h.target(f"{name}: upstream requests beyond the 10 pages", requests - 10, 0, at_most=True)
        h.target(f"{name}: slowest", float(slowest), 150, at_most=True, unit=" ms")


def scenario_start(procs):
    upstream = start_mock(procs, 10, 1)
    samples = []
    for _ in range(5):
        port = h.free_port()
        started = time.perf_counter()
        child = procs.start([str(h.GATEWAY), "serve"], env=h.gateway_env(upstream, port))
        h.wait_for(f"http://127.0.0.1:{port}/healthz")
        samples.append((time.perf_counter() - started) * 1000)
        procs.stop(child)
    table(
        "Process start to `/healthz` 200 (5 starts)",
        [[f"{statistics.median(samples):.1f}", f"{max(samples):.1f}"]],
        ["median ms", "slowest ms"],
    )
    print()
    h.target("median start", statistics.median(samples), 50, at_most=True, unit=" ms")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--secs", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warn", action="store_true", help="also gateways with logs at warn, for comparison")
    parser.add_argument("--only", default="warm,varied,filter,n1,rss,stampede,start,replicas,portal,live")
    args = parser.parse_args()
    chosen = set(args.only.split(","))
    for tool in ("wrk", "taskset"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is missing (Debian: apt-get install {'wrk' if tool == 'wrk' else 'util-linux'})")
    subprocess.run(
        ["cargo", "build", "--release", "--quiet", "--bin", "elements-gateway", "--example", "baseline"],
        cwd=h.ROOT, check=True,
    )
    cpu = re.search(r"model name\s*:\s*(.*)", pathlib.Path("/proc/cpuinfo").read_text())
    print(f"# elements-gateway benchmark, {time.strftime('%Y-%m-%d')}, {h.os.cpu_count()} cores ({cpu.group(1) if cpu else '?'})")
    procs = h.Processes()
    try:
        if chosen & {"warm", "varied", "filter", "n1"}:
            ran = warm.scenario_warm(procs, args)
            if "varied" in chosen:
                varied.scenario_varied(args, f"{ran['gateway']}/graphql", ran["baseline_rps"])
            if "filter" in chosen:
                scenario_filter(args, ran["gateway"])
                scenario_filter(args, ran["reuse_off"], reuse="off", target=2)
            if "n1" in chosen:
                scenario_n1(procs, ran["upstream"])
            procs.stop_all()
        if "rss" in chosen:
            memory.scenario_rss(procs, args)
            procs.stop_all()
        if "stampede" in chosen:
            scenario_stampede(procs)
            procs.stop_all()
        if "start" in chosen:
            scenario_start(procs)
            procs.stop_all()
        if "replicas" in chosen:
            replicas.scenario_replicas(procs, h)
            procs.stop_all()
        if "portal" in chosen:
            portal.scenario_portal(procs, args, h)
            procs.stop_all()
        if "live" in chosen:
            live.scenario_live(procs, h)
    finally:
        procs.stop_all()


if __name__ == "__main__":
    sys.exit(main())
