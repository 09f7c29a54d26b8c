"""The `varied` scenario of bench/run.py: traffic that answer reuse cannot serve from one
entry. 1,000 distinct requests (customers by id, variables, cursors, a customer's products
before a date), and 50,000 distinct bodies of one request (each with its own `extensions`
entry, which the answer does not depend on), against the baseline's figure of the warm
scenario."""

import json
import os
import tempfile
import urllib.request

import harness as h


def rotating_script(bodies):
    """A wrk script sending `bodies` in turn; returns its path."""
    script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
    quoted = ",\n".join("[[" + json.dumps(body) + "]]" for body in bodies)
    script.write(
        f"local bodies = {{\n{quoted}\n}}\n"
        "local i = 0\n"
        "request = function()\n"
        "  i = i % #bodies + 1\n"
        f'  return wrk.format("POST", nil, {{["Content-Type"] = "application/json", ["Authorization"] = "Bearer {h.TOKEN}"}}, bodies[i])\n'
        "end\n"
    )
    script.close()
    return script.name


def send(url, body):
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json", "authorization": f"Bearer {h.TOKEN}"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def scenario_varied(args, gateway_url, baseline_rps):
    rows = []
    shared = [{"query": h.WARM_QUERY, "extensions": {"trace": f"{n:05d}"}} for n in range(50_000)]
    for label, bodies in (
        ("1,000 distinct requests", varied_bodies(gateway_url)),
        ("50,000 distinct bodies of one request", shared),
    ):
        # Each body once first (a sample of the 50,000): every one answered without an error.
        for body in bodies[:1000]:
            answer = send(gateway_url, body)
            if answer.get("errors"):
                raise SystemExit(f"varied traffic: {body} was answered with {answer['errors']}")
        script = rotating_script(bodies)
        result = h.wrk(gateway_url, None, 64, args.secs, script=script)
        os.unlink(script)
        rows.append([label, f"{result['rps']:.0f}", f"{result['p50']:.2f}", f"{result['p99']:.2f}",
                     result["errors"], f"{result['rps'] / baseline_rps:.2f}"])
    h.table(
        f"Varied traffic on the defaults (answer reuse on), 64 connections, {args.secs} s",
        rows,
        ["traffic", "requests/s", "p50 ms", "p99 ms", "errors", "× baseline"],
    )
    print()
    for label, _, _, _, _, ratio in rows:
        h.target(f"{label}: throughput × baseline", float(ratio), 0.25)


def varied_bodies(url):
    """1,000 distinct requests: customers by id (in the query, and as a variable), pages after
    a cursor, and one customer's products before a date."""
    listing = json.loads(h.post(url, "{ customers(first: 250) { edges { cursor node { id organization } } } }"))
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
