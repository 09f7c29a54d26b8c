"""The `rss` scenario of bench/run.py: the gateway's memory on its defaults over 10,000
customers × 5 products, after the warm and filter loads, then after 8,000 distinct documents
of 60 KB each (every cache that holds documents or answers bounded by its settings)."""

import concurrent.futures
import json
import urllib.request

import harness as h

CUSTOMERS, PRODUCTS = 10_000, 5
DOCUMENTS, DOCUMENT_BYTES = 8_000, 60_000


def document(n):
    """A distinct query of about 60 KB: half of it a comment, half a `search` text."""
    half = DOCUMENT_BYTES // 2
    return (
        f"# {n:05d} {'c' * half}\n"
        f'query Q{n} {{ customers(first: 1, search: "{n:05d}{"s" * half}") {{ totalCount }} }}'
    )


def send(url, query):
    request = urllib.request.Request(
        url,
        data=json.dumps({"query": query}).encode(),
        headers={"content-type": "application/json", "authorization": f"Bearer {h.TOKEN}"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        answer = json.loads(response.read())
    if answer.get("errors"):
        raise SystemExit(f"a 60 KB document was answered with {answer['errors'][:1]}")


def scenario_rss(procs, args):
    upstream = h.start_mock(procs, CUSTOMERS, PRODUCTS)
    child, gateway = h.start_gateway(procs, upstream)
    url = f"{gateway}/graphql"
    h.post(url, "{ customers { totalCount } }", timeout=300)
    h.wrk(url, h.WARM_QUERY, 64, args.secs)
    customer = json.loads(h.post(url, "{ customers(first: 1) { nodes { id } } }"))["data"]["customers"]["nodes"][0]["id"]
    h.wrk(url, f'{{ products(filter: {{customerId: "{customer}", expiringBefore: "2027-01-01"}}) {{ service customer {{ organization }} }} }}', 16, args.secs)
    loaded = h.rss_mib(child.pid)
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda n: send(url, document(n)), range(DOCUMENTS)))
    documents = h.rss_mib(child.pid)
    h.table(
        f"Memory on the defaults, {CUSTOMERS:,} customers × {PRODUCTS} products cached",
        [
            ["after the warm query's and a filter's load", f"{loaded['VmRSS']:.1f}", f"{loaded['VmHWM']:.1f}"],
            [f"then {DOCUMENTS:,} distinct documents of {DOCUMENT_BYTES // 1000} KB", f"{documents['VmRSS']:.1f}", f"{documents['VmHWM']:.1f}"],
        ],
        ["after", "RSS MiB", "peak RSS MiB"],
    )
    print()
    h.target("RSS after the loads", loaded["VmRSS"] * 1.048576, 100, at_most=True, unit=" MB")
    h.target(f"RSS after the {DOCUMENTS:,} documents", documents["VmRSS"], 256, at_most=True, unit=" MiB")
    procs.stop(child)
