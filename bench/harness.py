"""What every scenario of bench/run.py shares: the processes (mock upstream, gateway, baseline),
caller tokens, requests, wrk, and printing tables and targets.

Every gateway runs on the defaults a user gets: nothing set but what it cannot start without
(listen address, upstream URL and token, the caller-key secret), so the access log is on, the
cache TTL is 60 s and the cost limit is the default. A scenario that changes a setting says so
in its table.
"""

import asyncio
import json
import os
import pathlib
import re
import signal
import socket
import statistics
import subprocess
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
    """The settings a gateway cannot start without; everything else stays on its default."""
    return {
        "GATEWAY_LISTEN": f"127.0.0.1:{port}",
        "GATEWAY_UPSTREAM_URL": upstream,
        "GATEWAY_UPSTREAM_TOKEN": UPSTREAM_TOKEN,
        "GATEWAY_JWT_SECRET": SECRET,
    }


def start_gateway(procs, upstream, cpu=0, extra_env=None):
    port = free_port()
    env = gateway_env(upstream, port) | (extra_env or {})
    child = procs.start([str(GATEWAY), "serve"], env=env, cpu=cpu)
    base = f"http://127.0.0.1:{port}"
    wait_for(f"{base}/readyz")
    return child, base


def rss_mib(pid):
    status = pathlib.Path(f"/proc/{pid}/status").read_text()
    figures = {}
    for key in ("VmRSS", "VmHWM"):
        figures[key] = int(re.search(rf"{key}:\s+(\d+) kB", status).group(1)) / 1024
    return figures


def cpu_seconds(pid):
    """User and system (kernel) CPU time process `pid` (every thread of it) has used, in
    seconds."""
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def wrk(url, query, connections, secs, threads=1, token=None, script=None, pid=None):
    """Runs wrk on core 1 with `query` (or a ready Lua `script`); returns requests/s, p50 and
    p99 in ms, errors and the requests made; given the server's `pid`, also the CPU time it
    spent per request (`cpu_us`, split into `user_us` and the kernel's `sys_us`), which time
    stolen from this virtual machine does not inflate as it does the throughput."""
    cpu_before = cpu_seconds(pid) if pid else None
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
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    result = {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": millis("50"),
        "p99": millis("99"),
        "errors": errors,
        "requests": requests,
    }
    if pid:
        (user_before, sys_before), (user, system) = cpu_before, cpu_seconds(pid)
        result["user_us"] = (user - user_before) / max(requests, 1) * 1e6
        result["sys_us"] = (system - sys_before) / max(requests, 1) * 1e6
        result["cpu_us"] = result["user_us"] + result["sys_us"]
    return result


def table(title, rows, header):
    print(f"\n## {title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(str(cell) for cell in row) + " |")


def start_variant(procs, upstream, extra_env):
    """Another gateway over the same mock, with `extra_env` on top of the defaults; returns
    its process and its `/graphql` URL."""
    child, base = start_gateway(procs, upstream, extra_env=extra_env)
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


def start_baseline(procs, answer):
    """The baseline answering `answer`'s bytes, on core 0; returns its process and URL."""
    body_file = tempfile.NamedTemporaryFile(delete=False, dir=procs.logs.name)
    body_file.write(answer)
    body_file.close()
    port = free_port()
    baseline = procs.start([str(BASELINE), f"127.0.0.1:{port}", body_file.name], cpu=0)
    wait_for_baseline(port)
    return baseline, f"http://127.0.0.1:{port}/graphql"


def first_ids(url, count):
    """The ids of the first `count` customers."""
    listing = json.loads(post(url, f"{{ customers(first: {count}) {{ nodes {{ id }} }} }}"))
    return [node["id"] for node in listing["data"]["customers"]["nodes"]]


RESTRICTED = {"GATEWAY_JWT_CUSTOMER_CLAIM": "elements_customers"}
REUSE_OFF = {"GATEWAY_CACHE_ANSWER_BYTES": "0"}
LOG_OFF = {"GATEWAY_LOG_REQUESTS": "false"}
WARN = {"GATEWAY_LOG_LEVEL": "warn"}


def medians(runs):
    """Each server's median requests/s, p50, p99 (and CPU per request, when measured) over its
    rounds, and its errors summed."""
    return {
        name: {
            key: statistics.median(run[key] for run in results)
            for key in ("rps", "p50", "p99", "cpu_us", "user_us", "sys_us")
            if all(key in run for run in results)
        }
        | {"errors": sum(run["errors"] for run in results)}
        for name, results in runs.items()
    }


def target(label, figure, bound, at_most=False, unit=""):
    """Prints a target beside its figure, with met or MISSED; returns whether it was met."""
    met = figure <= bound if at_most else figure >= bound
    sign = "≤" if at_most else "≥"
    print(f"- {label}: {figure:.2f}{unit} (target {sign} {bound}{unit}): {'met' if met else 'MISSED'}")
    return met


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
