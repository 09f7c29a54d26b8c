"""The `warm` scenario of bench/run.py: the benchmark query answered by the gateway on its
defaults and by variants of it (a caller restricted by a customer claim, answer reuse off,
the access log off), each against the bare-axum baseline answering the same bytes, taking
turns on core 0 with wrk on core 1."""

import harness as h

# The data set: 500 customers × 4 products, the answer 50 customers with their products.
CUSTOMERS, PRODUCTS = 500, 4


def servers_to_run(procs, upstream, url, gateway_pid, answer, with_warn):
    """The gateway variants, each started over `upstream`, checked to give `answer`, with the
    token it is called with and its process id."""
    restricted_token = h.caller_token({"elements_customers": h.first_ids(url, 50)})
    variants = {
        "restricted caller": (h.RESTRICTED, restricted_token),
        "answer reuse off": (h.REUSE_OFF, None),
        "restricted caller, answer reuse off": (h.RESTRICTED | h.REUSE_OFF, restricted_token),
        "access log off": (h.LOG_OFF, None),
        "access log off, answer reuse off": (h.LOG_OFF | h.REUSE_OFF, None),
    }
    if with_warn:
        variants["logs at warn"] = (h.WARN, None)
        variants["logs at warn, answer reuse off"] = (h.WARN | h.REUSE_OFF, None)
    servers = {"gateway (defaults)": (url, None, gateway_pid)}
    for name, (env, token) in variants.items():
        child, variant_url = h.start_variant(procs, upstream, env)
        h.post(variant_url, "{ customers { totalCount } }", timeout=300, token=token)
        if h.post(variant_url, h.WARM_QUERY, token=token) != answer:
            raise SystemExit(f"{name}: the answer differs from the gateway's")
        servers[name] = (variant_url, token, child.pid)
    return servers, restricted_token


def scenario_warm(procs, args):
    """Returns the baseline's requests/s, the mock's URL, and the base URLs of the gateway
    on its defaults and of one with answer reuse off, all left running."""
    upstream = h.start_mock(procs, CUSTOMERS, PRODUCTS)
    child, gateway = h.start_gateway(procs, upstream)
    url = f"{gateway}/graphql"
    h.post(url, "{ customers { totalCount } }", timeout=300)
    answer = h.post(url, h.WARM_QUERY)
    servers, restricted_token = servers_to_run(procs, upstream, url, child.pid, answer, args.warn)
    baseline, baseline_url = h.start_baseline(procs, answer)
    servers["baseline"] = (baseline_url, None, baseline.pid)
    # The restricted caller's token carries its 50 ids (a few KB on every request): the
    # baseline reading the same request shows what the transport alone costs.
    servers["baseline, the restricted caller's token"] = (baseline_url, restricted_token, baseline.pid)
    runs = {name: [] for name in servers}
    for _ in range(args.rounds):
        for name, (target_url, token, pid) in servers.items():
            runs[name].append(h.wrk(target_url, h.WARM_QUERY, 64, args.secs, token=token, pid=pid))
    procs.stop(baseline)
    median = h.medians(runs)
    base = median["baseline"]
    h.table(
        f"Warm `customers(first: 50)` ({len(answer)} bytes; {CUSTOMERS} customers × {PRODUCTS} products), "
        f"every gateway on its defaults but for what its name says, 64 connections, each server on core 0, "
        f"median of {args.rounds} rounds of {args.secs} s (the servers take turns)",
        [[name, f"{m['rps']:.0f}", f"{m['p50']:.2f}", f"{m['p99']:.2f}", m["errors"], f"{m['rps'] / base['rps']:.2f}",
          f"{m['cpu_us']:.1f}"]
         for name, m in median.items()],
        ["server", "requests/s", "p50 ms", "p99 ms", "errors", "× baseline", "CPU µs/request"],
    )
    print_targets(median)
    return {
        "baseline_rps": base["rps"],
        "upstream": upstream,
        "gateway": gateway,
        "reuse_off": servers["answer reuse off"][0].removesuffix("/graphql"),
    }


def print_targets(median):
    base = median["baseline"]
    print()
    for name, least, p99 in (
        ("gateway (defaults)", 0.5, 2),
        ("restricted caller", 0.5, 2),
        ("answer reuse off", 0.25, None),
        ("restricted caller, answer reuse off", 0.25, None),
    ):
        h.target(f"{name}: throughput × baseline", median[name]["rps"] / base["rps"], least)
        if p99 is not None:
            h.target(f"{name}: p99 × baseline", median[name]["p99"] / base["p99"], p99, at_most=True)
    for logged, quiet in (
        ("gateway (defaults)", "access log off"),
        ("answer reuse off", "access log off, answer reuse off"),
    ):
        cost = 100 * (1 - median[logged]["rps"] / median[quiet]["rps"])
        h.target(f"the access log's cost, {logged}", cost, 5, at_most=True, unit=" %")
        on, off = median[logged]["cpu_us"], median[quiet]["cpu_us"]
        user = median[logged]["user_us"] - median[quiet]["user_us"]
        kernel = median[logged]["sys_us"] - median[quiet]["sys_us"]
        print(f"  by CPU time per request (no target; steal time left out): {on:.1f} µs with the "
              f"log, {off:.1f} µs without: the log costs {100 * (1 - off / on):.1f} % of the work "
              f"({user:+.2f} µs in the gateway's code, {kernel:+.2f} µs in the kernel)")
    for name in ("logs at warn", "logs at warn, answer reuse off"):
        if name in median:
            print(f"- for comparison (no target), {name}: × baseline {median[name]['rps'] / base['rps']:.2f}")
    same = median["baseline, the restricted caller's token"]
    for name in ("restricted caller", "restricted caller, answer reuse off"):
        print(f"- for comparison (no target), {name} against the baseline reading the same token: "
              f"× {median[name]['rps'] / same['rps']:.2f}")
