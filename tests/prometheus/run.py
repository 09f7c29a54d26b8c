#!/usr/bin/env python3
"""The alerts and the dashboard against a real Prometheus scraping real gateways.

    tests/prometheus/run.py BINARY [--picture OUT.svg] [--seconds N]

Starts a Redis, a demo gateway over its sample upstream sharing that Redis (caller traffic,
upstream throttling and failures switched on through the mock's /__mock/fault, bad tokens,
Redis stopped for a while), and a second gateway whose JWKS stops answering. Debian's
`prometheus` scrapes both every second and loads deploy/prometheus/alerts.yaml. Then every
alert's signal (its expression without the threshold) and every dashboard expression must
return at least one series, so a renamed metric or label fails here instead of in a
dashboard. With --picture, the dashboard's panels are drawn from the same run (picture.py).
"""

import argparse
import base64
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ALERTS = ROOT / "deploy/prometheus/alerts.yaml"
DASHBOARD = ROOT / "deploy/grafana/elements-gateway.json"
JOB = "elements-gateway"
# What the dashboard's variables stand for here: Grafana's $__rate_interval is four scrape
# intervals at least, and Prometheus scrapes every second here.
VARIABLES = {"$__rate_interval": "5s", "$job": JOB, "$instance": ".+"}


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(what, check, seconds=30):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            if check():
                return
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.1)
    sys.exit(f"FAIL: {what} did not come up in {seconds} s")


def http(method, url, body=None, headers=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        request.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def jwk_of(pem_path):
    """The RSA public key in `pem_path` as a JWK, read from its DER (no crypto library)."""
    der = base64.b64decode("".join(line for line in Path(pem_path).read_text().splitlines()
                                   if not line.startswith("-----")))

    def element(at):
        length, at = der[at + 1], at + 2
        if length & 0x80:
            count = length & 0x7F
            length, at = int.from_bytes(der[at:at + count], "big"), at + count
        return at, at + length

    body, _ = element(0)                       # SubjectPublicKeyInfo
    _, algorithm_end = element(body)           # AlgorithmIdentifier
    bits, _ = element(algorithm_end)           # BIT STRING: one pad byte, then RSAPublicKey
    sequence, _ = element(bits + 1)
    n_start, n_end = element(sequence)
    e_start, e_end = element(n_end)

    def b64(raw):
        return base64.urlsafe_b64encode(raw.lstrip(b"\0")).rstrip(b"=").decode()

    return {"kty": "RSA", "kid": "rsa-1", "alg": "RS256", "use": "sig",
            "n": b64(der[n_start:n_end]), "e": b64(der[e_start:e_end])}


class Jwks(BaseHTTPRequestHandler):
    """A JWKS endpoint that answers until `failing` is set, then answers 500."""
    keys = b""
    failing = False

    def do_GET(self):
        status, body = (500, b"down") if Jwks.failing else (200, Jwks.keys)
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_):
        pass


class Stack:
    """Every process of the run; all are stopped at exit."""

    def __init__(self, binary, work):
        self.binary, self.work, self.processes = binary, Path(work), []

    def start(self, name, args, env=None, stdout=None):
        log = open(self.work / f"{name}.log", "wb")
        process = subprocess.Popen(args, env={**os.environ, **(env or {})},
                                   stdout=stdout or log, stderr=log)
        self.processes.append(process)
        return process

    def stop(self):
        for process in self.processes:
            process.kill()
            process.wait()


def start_demo(stack, redis_port):
    """The demo gateway, sharing Redis; its URL, caller token and sample upstream's URL."""
    demo = stack.start("demo", [stack.binary, "serve", "--demo"], stdout=subprocess.PIPE, env={
        "GATEWAY_LISTEN": "127.0.0.1:0",
        "GATEWAY_REDIS_URL": f"redis://127.0.0.1:{redis_port}",
        "GATEWAY_CACHE_TTL_SECS": "2",
        # So that the Deep query is refused before execution.
        "GATEWAY_LIMITS_DEPTH": "5",
        "GATEWAY_LOG_REQUESTS": "false",
    })
    found = {}
    for raw in demo.stdout:
        line = raw.decode().strip()
        for key, prefix in [("url", "elements-gateway listening on "),
                            ("token", "Authorization: Bearer "),
                            ("upstream", "elements-gateway demo: sample upstream at ")]:
            if line.startswith(prefix):
                found[key] = line[len(prefix):]
        if len(found) == 3:
            break
    if len(found) < 3:
        sys.exit(f"FAIL: the demo printed {sorted(found)} only")
    threading.Thread(target=lambda: [None for _ in demo.stdout], daemon=True).start()
    return found


def start_jwks_gateway(stack):
    """A gateway whose caller keys come from a JWKS served here; returns its address."""
    Jwks.keys = json.dumps({"keys": [jwk_of(ROOT / "tests/fixtures/keys/rsa-1.pub.pem")]}).encode()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Jwks)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    upstream_port, port = free_port(), free_port()
    stack.start("mock-upstream", [stack.binary, "mock-upstream", "--listen",
                                  f"127.0.0.1:{upstream_port}", "--token", "prometheus-test"])
    stack.start("jwks-gateway", [stack.binary, "serve"], env={
        "GATEWAY_LISTEN": f"127.0.0.1:{port}",
        "GATEWAY_UPSTREAM_URL": f"http://127.0.0.1:{upstream_port}",
        "GATEWAY_UPSTREAM_TOKEN": "prometheus-test",
        "GATEWAY_JWT_JWKS_URL": f"http://127.0.0.1:{server.server_address[1]}/jwks.json",
        "GATEWAY_JWT_JWKS_REFRESH_SECS": "1",
        "GATEWAY_JWT_ISSUER": "prometheus-test",
        "GATEWAY_JWT_AUDIENCE": "elements-gateway",
    })
    wait_for("the JWKS gateway", lambda: http("GET", f"http://127.0.0.1:{port}/readyz")[0] == 200)
    return f"127.0.0.1:{port}"


def start_prometheus(stack, targets):
    port = free_port()
    config = stack.work / "prometheus.yml"
    config.write_text(json.dumps({  # JSON is YAML
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(ALERTS)],
        "scrape_configs": [{"job_name": JOB, "static_configs": [{"targets": targets}]}],
    }))
    stack.start("prometheus", ["prometheus", f"--config.file={config}",
                               f"--storage.tsdb.path={stack.work / 'data'}",
                               f"--web.listen-address=127.0.0.1:{port}"])
    url = f"http://127.0.0.1:{port}"
    wait_for("Prometheus", lambda: http("GET", f"{url}/-/ready")[0] == 200)
    return url


def traffic(demo, seconds, stop_redis):
    """Callers for `seconds`: named queries, bad and missing tokens, an over-deep query, with
    the upstream throttling, then failing, then well again, and Redis stopped for a while."""
    url, good = demo["url"], {"authorization": f"Bearer {demo['token']}"}
    queries = [
        ("Listing", "query Listing { customers(first: 20) { totalCount nodes { id organization } } }"),
        ("Expiring", 'query Expiring { products(filter: { expiringBefore: "2026-06-30T00:00:00Z" }) { service } }'),
        ("Deep", "query Deep { customers { nodes { products { customer { products { customer { id } } } } } } }"),
        ("Portal", "query Portal { customers(first: 10) { nodes { id backupStatus backupJobs(first: 2) { status }"
                   " seats(platform: MICROSOFT_365) { assignedUserSeats } backupCoverage { module } } } }"),
    ]
    # (share of the run, what happens then)
    events = [
        (0.0, lambda: http("PUT", f"{demo['upstream']}/__mock/fault", {"kind": "none"})),
        (0.3, lambda: http("PUT", f"{demo['upstream']}/__mock/fault",
                           {"kind": "rate_limited", "retry_after_secs": 1})),
        (0.4, stop_redis),
        (0.5, lambda: http("PUT", f"{demo['upstream']}/__mock/fault",
                           {"kind": "server_error", "status": 503})),
        (0.75, lambda: http("PUT", f"{demo['upstream']}/__mock/fault", {"kind": "none"})),
    ]
    started, sent = time.time(), 0
    while (elapsed := time.time() - started) < seconds:
        while events and elapsed >= events[0][0] * seconds:
            events.pop(0)[1]()
        name, query = queries[sent % len(queries)]
        headers = good if sent % 7 else {"authorization": "Bearer not-a-token"}
        http("POST", url, {"query": query, "operationName": name}, headers)
        if sent % 11 == 0:
            http("POST", url, {"query": "{ __typename }"})
        sent += 1
        time.sleep(0.02)
    return sent


def signal(expr):
    """An alert's expression without its threshold: the left side of the last top-level
    comparison with a number."""
    depth, cut = 0, None
    for index, char in enumerate(expr):
        depth += char in "([{"
        depth -= char in ")]}"
        if depth == 0 and re.match(r"\s*(==|!=|>=|<=|>|<)\s*[-+]?[0-9.]+\s*$", expr[index:]):
            cut = index
            break
    if cut is None:
        sys.exit(f"FAIL: no threshold at the top level of {expr!r}")
    return expr[:cut].strip()


def alert_rules():
    """(name, expr) of every rule in alerts.yaml, read without a YAML library: the file keeps
    `- alert:` and `expr:` (one line, or a `|` block) in that form."""
    rules, lines = [], ALERTS.read_text().splitlines()
    for index, line in enumerate(lines):
        if match := re.match(r"\s*- alert: (\w+)", line):
            rules.append([match.group(1), None])
        elif (match := re.match(r"(\s*)expr: (.*)", line)) and rules:
            if match.group(2).strip() == "|":
                block = []
                for more in lines[index + 1:]:
                    if more.strip() and len(more) - len(more.lstrip()) <= len(match.group(1)):
                        break
                    block.append(more.strip())
                rules[-1][1] = " ".join(part for part in block if part)
            else:
                rules[-1][1] = match.group(2).strip()
    return rules


def dashboard_expressions():
    board = json.loads(DASHBOARD.read_text())
    found = []
    for panel in board["panels"]:
        for target in panel.get("targets", []):
            found.append((panel["title"], target["expr"]))
    for variable in board["templating"]["list"]:
        if variable["type"] == "query":
            metric = re.search(r"label_values\((.*), \w+\)", variable["definition"]).group(1)
            found.append((f"variable ${variable['name']}", metric))
    return found


def substituted(expr):
    for name in sorted(VARIABLES, key=len, reverse=True):
        expr = expr.replace(name, VARIABLES[name])
    return expr


def series(prometheus, expr):
    status, body = http("GET", f"{prometheus}/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
    answer = json.loads(body)
    if status != 200 or answer.get("status") != "success":
        return None, answer.get("error", body[:200])
    return len(answer["data"]["result"]), None


def check(prometheus, checks):
    failures = []
    for what, expr in checks:
        count, error = series(prometheus, expr)
        verdict = "ok" if count else "FAIL"
        print(f"{verdict:4} {count if count is not None else '-':>3} series  {what}: {expr}")
        if not count:
            failures.append(f"{what}: {error or 'no series'}: {expr}")
    status, body = http("GET", f"{prometheus}/api/v1/rules")
    rules = [rule for group in json.loads(body)["data"]["groups"] for rule in group["rules"]]
    unhealthy = [rule["name"] for rule in rules if rule["health"] != "ok"]
    print(f"Prometheus loaded {len(rules)} rules; unhealthy: {unhealthy or 'none'}")
    if len(rules) != len(alert_rules()) or unhealthy:
        failures.append(f"rules loaded: {len(rules)}, unhealthy: {unhealthy}")
    return failures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("binary")
    parser.add_argument("--picture", help="also draw the dashboard's panels into this SVG")
    parser.add_argument("--seconds", type=float, default=40)
    args = parser.parse_args()
    for tool in ["prometheus", "redis-server"]:
        if not shutil.which(tool):
            sys.exit(f"FAIL: {tool} is not on the PATH (Debian: apt-get install {tool})")
    with tempfile.TemporaryDirectory() as work:
        stack = Stack(str(Path(args.binary).resolve()), work)
        try:
            redis_port = free_port()
            redis = stack.start("redis", ["redis-server", "--port", str(redis_port), "--save", "",
                                          "--appendonly", "no"])
            demo = start_demo(stack, redis_port)
            jwks_gateway = start_jwks_gateway(stack)
            prometheus = start_prometheus(stack, [urllib.parse.urlsplit(demo["url"]).netloc,
                                                  jwks_gateway])
            started = time.time()
            jwks_fails = threading.Timer(args.seconds / 2, lambda: setattr(Jwks, "failing", True))
            jwks_fails.daemon = True
            jwks_fails.start()
            sent = traffic(demo, args.seconds, lambda: redis.poll() is None and redis.kill())
            print(f"{sent} requests over {args.seconds:.0f} s; waiting for the last scrapes")
            ended = time.time()
            # Every target scraped once more after the traffic ended (gateway targets that
            # are gone, like a killed Redis's, have no `up` series to wait for).
            wait_for("a scrape of every target after the traffic",
                     lambda: series(prometheus, f"min(timestamp(up)) > {ended}")[0])
            checks = [(f"alert {name}", signal(expr)) for name, expr in alert_rules()]
            checks += [(f"panel {title}", substituted(expr)) for title, expr in dashboard_expressions()]
            failures = check(prometheus, checks)
            if args.picture:
                sys.path.insert(0, str(Path(__file__).parent))
                import picture
                picture.draw(prometheus, DASHBOARD, VARIABLES, started, time.time(), args.picture)
                print(f"dashboard drawn into {args.picture}")
        finally:
            stack.stop()
    if failures:
        sys.exit("FAIL:\n  " + "\n  ".join(failures))
    print(f"ok: {len(checks)} expressions return series")


if __name__ == "__main__":
    main()
