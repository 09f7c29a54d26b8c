#!/usr/bin/env python3
"""The speed benchmark: the gateway against a bare-axum baseline, and its cost to the upstream.

Starts the shipped mock upstream (deterministic data, page cap 50), the release gateway and the
baseline (examples/baseline.rs, answering with the gateway's own bytes), drives them with wrk,
and prints one table per scenario with the targets of issue 6. Ratios come from one run on one
machine: gateway and baseline alternate (A/B), each pinned to core 0, with wrk on core 1.

    python3 bench/run.py [--secs 10] [--rounds 3] [--only warm,varied,filter,stampede,n1,rss,start,replicas,portal]

Needs: cargo (builds the release binary and the baseline), wrk (Debian's `wrk`), taskset.
"""

import argparse
import asyncio
import json
import os
import pathlib
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parent.parent
GATEWAY = ROOT / "target" / "release" / "elements-gateway"
BASELINE = ROOT / "target" / "release" / "examples" / "baseline"
SECRET = "bench-secret-0123456789-abcdefghijklmnop"
UPSTREAM_TOKEN = "bench-upstream-token"

WARM_QUERY = (
    "{ customers(first: 50) { nodes { id organization email "
    "products { service expirationDate } } } }"
)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def caller_token(extra=None):
    import base64
    import hashlib
    import hmac

    def b64(data):
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps({"sub": "bench", "exp": int(time.time()) + 86400} | (extra or {})).encode())
    signature = hmac.new(SECRET.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(signature)}"


TOKEN = caller_token()


def wait_for(url, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except Exception:
            time.sleep(0.005)
    raise SystemExit(f"{url} did not answer 200 within {seconds} s")


def post(url, query, timeout=60, token=None):
    request = urllib.request.Request(
        url,
        data=json.dumps({"query": query}).encode(),
        headers={"content-type": "application/json", "authorization": f"Bearer {token or TOKEN}"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.read()


def mock_stats(base):
    with urllib.request.urlopen(f"{base}/__mock/stats") as response:
        return json.loads(response.read())


class Processes:
    """Child processes, stopped (SIGTERM) in reverse order at the end. Each one's standard
    error goes to a file, as a deployment's log does (not to /dev/null, which costs nothing
    to write to)."""

    def __init__(self):
        self.children = []
        self.logs = tempfile.TemporaryDirectory(prefix="elements-gateway-bench-")

    def start(self, args, env=None, cpu=None):
        if cpu is not None:
            args = ["taskset", "-c", str(cpu), *args]
        with open(pathlib.Path(self.logs.name) / f"{len(self.children)}-{time.monotonic_ns()}.log", "wb") as log:
            child = subprocess.Popen(
                args,
                env={**os.environ, **(env or {})},
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        self.children.append(child)
        return child

    def stop(self, child):
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            child.kill()
        self.children.remove(child)

    def stop_all(self):
        for child in reversed(list(self.children)):
            self.stop(child)


def start_mock(procs, customers, products, latency_ms=0):
    port = free_port()
    procs.start(
        [
            str(GATEWAY), "mock-upstream", "--listen", f"127.0.0.1:{port}",
            "--customers", str(customers), "--products-per-customer", str(products),
            "--seed", "1", "--page-cap", "50", "--latency-ms", str(latency_ms),
            "--token", UPSTREAM_TOKEN,
        ],
        cpu=1,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while True:
        try:
            mock_stats(base)
            return base
        except Exception:
            if time.time() > deadline:
                raise SystemExit("the mock upstream did not start")
            time.sleep(0.05)


def gateway_env(upstream, port):
    return {
        "GATEWAY_LISTEN": f"127.0.0.1:{port}",
        "GATEWAY_UPSTREAM_URL": upstream,
        "GATEWAY_UPSTREAM_TOKEN": UPSTREAM_TOKEN,
        "GATEWAY_JWT_SECRET": SECRET,
        "GATEWAY_CACHE_TTL_SECS": "3600",
        "GATEWAY_LOG_LEVEL": "warn",
        # Some scenarios ask for all 50,000 products on purpose (about 150,000 fields), which
        # the default cost limit of 50,000 refuses.
        "GATEWAY_LIMITS_COMPLEXITY": "1000000",
    }


def start_gateway(procs, upstream, cpu=0):
    port = free_port()
    child = procs.start([str(GATEWAY), "serve"], env=gateway_env(upstream, port), cpu=cpu)
    base = f"http://127.0.0.1:{port}"
    wait_for(f"{base}/readyz")
    return child, base


def rss_mib(pid):
    status = pathlib.Path(f"/proc/{pid}/status").read_text()
    figures = {}
    for key in ("VmRSS", "VmHWM"):
        figures[key] = int(re.search(rf"{key}:\s+(\d+) kB", status).group(1)) / 1024
    return figures


def wrk(url, query, connections, secs, threads=1, token=None, script=None):
    """Runs wrk on core 1 with `query` (or a ready Lua `script`); returns requests/s, p50 and
    p99 in ms, and errors."""
    path = script
    if path is None:
        written = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
        body = json.dumps({"query": query}).replace("\\", "\\\\").replace('"', '\\"')
        written.write(
            'wrk.method = "POST"\n'
            f'wrk.body = "{body}"\n'
            'wrk.headers["Content-Type"] = "application/json"\n'
            f'wrk.headers["Authorization"] = "Bearer {token or TOKEN}"\n'
        )
        written.close()
        path = written.name
    out = subprocess.run(
        [
            "taskset", "-c", "1", "wrk", f"-t{threads}", f"-c{connections}", f"-d{secs}s",
            "--latency", "-s", path, url,
        ],
        capture_output=True, text=True, check=True,
    ).stdout
    if script is None:
        os.unlink(path)

    def millis(label):
        match = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    errors = 0
    for pattern in (r"Non-2xx or 3xx responses: (\d+)", r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)"):
        match = re.search(pattern, out)
        if match:
            errors += sum(int(group) for group in match.groups())
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": millis("50"),
        "p99": millis("99"),
        "errors": errors,
    }


def table(title, rows, header):
    print(f"\n## {title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(str(cell) for cell in row) + " |")


def start_variant(procs, upstream, extra_env):
    """Another gateway over the same mock, with `extra_env` on top of the usual settings."""
    port = free_port()
    child = procs.start([str(GATEWAY), "serve"], env=gateway_env(upstream, port) | extra_env, cpu=0)
    base = f"http://127.0.0.1:{port}"
    wait_for(f"{base}/readyz")
    return child, f"{base}/graphql"


def wait_for_baseline(port):
    """The baseline answers only POST /graphql; waits until it does."""
    deadline = time.time() + 10
    while True:
        try:
            urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=b"{}"))
            return
        except Exception:
            if time.time() > deadline:
                raise SystemExit("the baseline did not start")
            time.sleep(0.02)


def first_ids(url, count):
    """The ids of the first `count` customers."""
    listing = json.loads(post(url, f"{{ customers(first: {count}) {{ nodes {{ id }} }} }}"))
    return [node["id"] for node in listing["data"]["customers"]["nodes"]]


RESTRICTED = {"GATEWAY_JWT_CUSTOMER_CLAIM": "elements_customers"}
REUSE_OFF = {"GATEWAY_CACHE_ANSWER_BYTES": "0"}


def scenario_warm(procs, args, upstream, gateway, gateway_child):
    url = f"{gateway}/graphql"
    answer = post(url, WARM_QUERY)
    body_file = tempfile.NamedTemporaryFile(delete=False)
    body_file.write(answer)
    body_file.close()
    port = free_port()
    baseline = procs.start([str(BASELINE), f"127.0.0.1:{port}", body_file.name], cpu=0)
    # Callers restricted to the 50 customers of the warm answer get the same bytes.
    restricted_token = caller_token({"elements_customers": first_ids(url, 50)})
    variants = {
        "gateway, caller restricted to those 50 customers": (RESTRICTED, restricted_token),
        "gateway, answer reuse off": (REUSE_OFF, None),
        "gateway, restricted caller, answer reuse off": (RESTRICTED | REUSE_OFF, restricted_token),
    }
    started = {}
    for name, (env, token) in variants.items():
        child, variant_url = start_variant(procs, upstream, env)
        post(variant_url, "{ customers { totalCount } }", timeout=300, token=token)
        if post(variant_url, WARM_QUERY, token=token) != answer:
            raise SystemExit(f"{name}: the answer differs from the warm answer")
        started[name] = (child, variant_url, token)
    wait_for_baseline(port)
    servers = {"gateway": (url, None)}
    servers |= {name: (variant_url, token) for name, (_, variant_url, token) in started.items()}
    servers["baseline"] = (f"http://127.0.0.1:{port}/graphql", None)
    # The restricted caller's token carries its 50 ids (a few KB on every request): the
    # baseline reading the same request shows what the transport alone costs.
    servers["baseline, the restricted caller's token"] = (servers["baseline"][0], restricted_token)
    runs = {name: [] for name in servers}
    for _ in range(args.rounds):
        for name, (target, token) in servers.items():
            runs[name].append(wrk(target, WARM_QUERY, 64, args.secs, token=token))
    procs.stop(baseline)
    for name, (child, _, _) in started.items():
        if name != "gateway, answer reuse off":
            procs.stop(child)
    os.unlink(body_file.name)
    median = {
        name: {key: statistics.median(run[key] for run in results) for key in ("rps", "p50", "p99")}
        | {"errors": sum(run["errors"] for run in results)}
        for name, results in runs.items()
    }
    b = median["baseline"]
    rows = [
        [name, f"{m['rps']:.0f}", f"{m['p50']:.2f}", f"{m['p99']:.2f}", m["errors"]]
        for name, m in median.items()
    ]
    table(
        f"Warm `customers(first: 50)` ({len(answer)} bytes), 64 connections, each server on core 0, "
        f"median of {args.rounds} rounds of {args.secs} s (the servers take turns)",
        rows,
        ["server", "requests/s", "p50 ms", "p99 ms", "errors"],
    )
    targets = {
        "gateway": (0.5, 2),
        "gateway, caller restricted to those 50 customers": (0.5, 2),
        "gateway, answer reuse off": (0.25, 5),
        "gateway, restricted caller, answer reuse off": (0.25, None),
    }
    for name, (least, most) in targets.items():
        g = median[name]
        rps_ratio, p99_ratio = g["rps"] / b["rps"], g["p99"] / b["p99"]
        line = (
            f"\n{name}: throughput / baseline {rps_ratio:.2f} "
            f"(target ≥ {least}: {'met' if rps_ratio >= least else 'MISSED'}); p99 / baseline {p99_ratio:.2f}"
        )
        if most is not None:
            line += f" (target ≤ {most}: {'met' if p99_ratio <= most else 'MISSED'})"
        print(line)
    same = median["baseline, the restricted caller's token"]
    for name in ("gateway, caller restricted to those 50 customers", "gateway, restricted caller, answer reuse off"):
        g = median[name]
        print(
            f"\n{name}, against the baseline reading the same token (no target): "
            f"throughput {g['rps'] / same['rps']:.2f}, p99 {g['p99'] / same['p99']:.2f}"
        )
    return b["rps"], started["gateway, answer reuse off"][1], restricted_token


def varied_bodies(url):
    """1,000 distinct requests: customers by id (in the query, and as a variable), pages after
    a cursor, and one customer's products before a date."""
    listing = json.loads(post(url, "{ customers(first: 250) { edges { cursor node { id organization } } } }"))
    edges = listing["data"]["customers"]["edges"]
    bodies = []
    for edge in edges[:250]:
        bodies.append({"query": f'{{ customer(id: "{edge["node"]["id"]}") {{ id organization products {{ service }} }} }}'})
        bodies.append({"query": "query($id: ID!) { customer(id: $id) { id email } }", "variables": {"id": edge["node"]["id"]}})
        bodies.append({"query": f'{{ customers(first: 10, after: "{edge["cursor"]}") {{ nodes {{ id }} }} }}'})
    for day in range(250):
        customer = edges[day % len(edges)]["node"]["id"]
        date = f"2026-{1 + day % 12:02d}-{1 + day % 28:02d}"
        bodies.append({"query": f'{{ products(filter: {{customerId: "{customer}", expiringBefore: "{date}"}}) {{ service }} }}'})
    return bodies[:1000]


def scenario_varied(args, gateway, baseline_rps):
    url = f"{gateway}/graphql"
    bodies = varied_bodies(url)
    distinct = len({json.dumps(body, sort_keys=True) for body in bodies})
    # Each body once first: every one must be answered without an error.
    for body in bodies:
        request = urllib.request.Request(
            url,
            data=json.dumps(body).encode(),
            headers={"content-type": "application/json", "authorization": f"Bearer {TOKEN}"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            answer = json.loads(response.read())
        if answer.get("errors"):
            raise SystemExit(f"varied traffic: {body} was answered with {answer['errors']}")
    script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
    quoted = ",\n".join("[[" + json.dumps(body) + "]]" for body in bodies)
    script.write(
        f"local bodies = {{\n{quoted}\n}}\n"
        "local i = 0\n"
        "request = function()\n"
        "  i = i % #bodies + 1\n"
        f'  return wrk.format("POST", nil, {{["Content-Type"] = "application/json", ["Authorization"] = "Bearer {TOKEN}"}}, bodies[i])\n'
        "end\n"
    )
    script.close()
    result = wrk(url, None, 64, args.secs, script=script.name)
    os.unlink(script.name)
    ratio = result["rps"] / baseline_rps
    table(
        f"Varied traffic: {distinct} distinct bodies (customers by id, variables, cursors, a customer's products before a date), "
        f"answer reuse on, 64 connections, {args.secs} s",
        [[f"{result['rps']:.0f}", f"{result['p50']:.2f}", f"{result['p99']:.2f}", result["errors"]]],
        ["requests/s", "p50 ms", "p99 ms", "errors"],
    )
    print(f"\nthroughput / baseline {ratio:.2f} (target ≥ 0.25: {'met' if ratio >= 0.25 else 'MISSED'})")


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
    print(f"\np99 {result['p99']:.2f} ms (target ≤ {target} ms: {'met' if result['p99'] <= target else 'MISSED'})")


def scenario_n1(upstream, gateway):
    url = f"{gateway}/graphql"
    before = mock_stats(upstream)["requests"]
    answer = json.loads(post(url, "{ products { customer { organization } } }"))
    after = mock_stats(upstream)["requests"]
    table(
        "Warm `products { customer { organization } }`",
        [[len(answer["data"]["products"]), after - before]],
        ["products", "upstream requests"],
    )
    print(f"\ntarget 0 upstream requests: {'met' if after == before else 'MISSED'}")


def scenario_rss(gateway_child, after):
    figures = rss_mib(gateway_child.pid)
    table(
        f"Memory after {after} (10,000 customers × 5 products cached)",
        [[f"{figures['VmRSS']:.1f}", f"{figures['VmHWM']:.1f}"]],
        ["RSS MiB", "peak RSS MiB"],
    )
    print(f"\nRSS ≤ 100 MB: {'met' if figures['VmRSS'] * 1.048576 <= 100 else 'MISSED'}")


STAMPEDE_QUERIES = [
    ("`customers(first: 50)` (the warm query: answered from the first page)", WARM_QUERY),
    (
        "`customers(first: 50) { totalCount … }` (needs every page)",
        WARM_QUERY.replace("{ nodes", "{ totalCount nodes"),
    ),
]


async def stampede(host, port, query, count):
    """Opens `count` connections, then sends one POST on each at the same instant; returns each
    answer's time from that instant to its last byte, in seconds."""

    body = json.dumps({"query": query}).encode()
    request = (
        f"POST /graphql HTTP/1.1\r\nhost: {host}:{port}\r\ncontent-type: application/json\r\n"
        f"authorization: Bearer {TOKEN}\r\ncontent-length: {len(body)}\r\nconnection: close\r\n\r\n"
    ).encode() + body
    connections = [await asyncio.open_connection(host, port) for _ in range(count)]

    async def answer(reader, started):
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            raise SystemExit(f"stampede answer: {head[:40]!r}")
        await reader.read()  # to the end: the gateway closes after the answer
        return time.perf_counter() - started

    started = time.perf_counter()
    for _, writer in connections:
        writer.write(request)
    took = await asyncio.gather(*(answer(reader, started) for reader, _ in connections))
    for _, writer in connections:
        writer.close()
    return took


def scenario_stampede(procs):

    rows = []
    for label, query in STAMPEDE_QUERIES:
        upstream = start_mock(procs, 500, 5, latency_ms=50)
        child, gateway = start_gateway(procs, upstream, cpu=None)
        before = mock_stats(upstream)["requests"]
        host, port = gateway.removeprefix("http://").split(":")
        took = asyncio.run(stampede(host, int(port), query, 200))
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
    for label, requests, _, slowest in rows:
        print(
            f"\n{label.split(' (')[0]}: upstream requests = 10: {'met' if requests == 10 else 'MISSED'}; "
            f"slowest ≤ 150 ms: {'met' if float(slowest) <= 150 else 'MISSED'}"
        )


def scenario_start(procs):
    upstream = start_mock(procs, 10, 1)
    samples = []
    for _ in range(5):
        port = free_port()
        started = time.perf_counter()
        child = procs.start([str(GATEWAY), "serve"], env=gateway_env(upstream, port))
        wait_for(f"http://127.0.0.1:{port}/healthz")
        samples.append((time.perf_counter() - started) * 1000)
        procs.stop(child)
    table(
        "Process start to `/healthz` 200 (5 starts)",
        [[f"{statistics.median(samples):.1f}", f"{max(samples):.1f}"]],
        ["median ms", "slowest ms"],
    )
    print(f"\n≤ 50 ms: {'met' if statistics.median(samples) <= 50 else 'MISSED'}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--secs", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", default="warm,varied,filter,n1,rss,stampede,start,replicas,portal")
    args = parser.parse_args()
    chosen = set(args.only.split(","))
    for tool in ("wrk", "taskset"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is missing (Debian: apt-get install {'wrk' if tool == 'wrk' else 'util-linux'})")
    subprocess.run(
        ["cargo", "build", "--release", "--quiet", "--bin", "elements-gateway", "--example", "baseline"],
        cwd=ROOT, check=True,
    )
    cpu = re.search(r"model name\s*:\s*(.*)", pathlib.Path("/proc/cpuinfo").read_text())
    print(f"# elements-gateway benchmark, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores ({cpu.group(1) if cpu else '?'})")
    procs = Processes()
    try:
        if chosen & {"warm", "filter", "n1", "rss"}:
            upstream = start_mock(procs, 10_000, 5)
            gateway_child, gateway = start_gateway(procs, upstream)
            post(f"{gateway}/graphql", "{ customers { totalCount } }", timeout=300)
            reuse_off = None
            if "warm" in chosen:
                baseline_rps, reuse_off, _ = scenario_warm(procs, args, upstream, gateway, gateway_child)
                if "varied" in chosen:
                    scenario_varied(args, gateway, baseline_rps)
            if "filter" in chosen:
                scenario_filter(args, gateway)
                if reuse_off:
                    scenario_filter(args, reuse_off.rsplit("/graphql", 1)[0], reuse="off", target=2)
            if "rss" in chosen:
                scenario_rss(gateway_child, "the warm and filter loads above")
            if "n1" in chosen:
                scenario_n1(upstream, gateway)
                if "rss" in chosen:
                    scenario_rss(gateway_child, "also answering every product (two answers of 50,000 products)")
            procs.stop_all()
        if "stampede" in chosen:
            scenario_stampede(procs)
            procs.stop_all()
        if "start" in chosen:
            scenario_start(procs)
            procs.stop_all()
        if "replicas" in chosen:
            import replicas

            replicas.scenario_replicas(procs, sys.modules[__name__])
            procs.stop_all()
        if "portal" in chosen:
            import portal

            portal.scenario_portal(procs, args, sys.modules[__name__])
    finally:
        procs.stop_all()


if __name__ == "__main__":
    sys.exit(main())
