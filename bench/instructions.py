#!/usr/bin/env python3
"""Instructions a request costs, counted by valgrind's callgrind: the one figure this shared
host gives the same way twice. Throughput here moves by a few per cent from run to run and
between builds of the same code, so a change worth 0.1 µs cannot be seen in it; the count of
user-space instructions it removes can (it does not see the kernel, caches or the writer
thread's waits, so it judges a change's code, never a target).

Each variant is one release gateway on defaults (plus the variant's settings) run under
callgrind over the shipped mock upstream; after a warm-up, counting is turned on for a wrk
run of the warm benchmark query (4 connections) and the totals are divided by the requests
wrk made. Prints instructions per request for each variant, and each one against the first.

    cargo build --release
    python3 bench/instructions.py [BINARY] [--secs 15] [--reuse-off]

BINARY defaults to target/release/elements-gateway.

Needs: valgrind (Debian's `valgrind`, for callgrind and callgrind_control), wrk, taskset.
"""

import argparse
import pathlib
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import harness as h  # noqa: E402

VARIANTS = {
    "defaults (access log on)": {},
    "access log off": h.LOG_OFF,
}


def under_callgrind(binary, out_dir):
    """A script that runs `binary` under callgrind, counting nothing until told, its dumps in
    `out_dir`; the harness starts it in place of the gateway."""
    wrapper = pathlib.Path(out_dir) / "callgrind.sh"
    wrapper.write_text(
        "#!/bin/sh\n"
        f'exec valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="{out_dir}/out.%p" "{binary}" "$@"\n'
    )
    wrapper.chmod(0o755)
    return wrapper


def counted(procs, upstream, env, secs, out_dir):
    """Instructions per request of the gateway under callgrind with `env`, and the requests
    counted."""
    child, base = h.start_gateway(procs, upstream, extra_env=env)
    url = f"{base}/graphql"
    h.post(url, "{ customers { totalCount } }", timeout=300)
    h.wrk(url, h.WARM_QUERY, 4, 3)

    def control(*args):
        subprocess.run(["callgrind_control", *args, str(child.pid)], check=True, capture_output=True)

    control("-i", "on")
    result = h.wrk(url, h.WARM_QUERY, 4, secs)
    control("-d")
    procs.stop(child)
    dumps = list(pathlib.Path(out_dir).glob(f"out.{child.pid}.*"))
    total = sum(int(re.search(r"^totals: (\d+)", dump.read_text(), re.M).group(1)) for dump in dumps)
    for dump in pathlib.Path(out_dir).glob(f"out.{child.pid}*"):
        dump.unlink()
    return total / result["requests"], result["requests"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("binary", nargs="?", type=pathlib.Path, default=h.GATEWAY)
    parser.add_argument("--secs", type=int, default=15)
    parser.add_argument("--reuse-off", action="store_true", help="GATEWAY_CACHE_ANSWER_BYTES=0: every request executed")
    args = parser.parse_args()
    binary = args.binary.resolve()
    extra = h.REUSE_OFF if args.reuse_off else {}
    procs = h.Processes()
    rows = []
    try:
        upstream = h.start_mock(procs, 500, 4)
        with tempfile.TemporaryDirectory(prefix="elements-gateway-callgrind-") as out_dir:
            h.GATEWAY = under_callgrind(binary, out_dir)
            for name, env in VARIANTS.items():
                per_request, requests = counted(procs, upstream, env | extra, args.secs, out_dir)
                rows.append((name, per_request, requests))
    finally:
        procs.stop_all()
    first = rows[0][1]
    h.table(
        f"Instructions a request (callgrind), warm benchmark query, answer reuse {'off' if args.reuse_off else 'on'}: {binary.name}",
        [[name, f"{per_request:,.0f}", f"{per_request - first:+,.0f}", requests] for name, per_request, requests in rows],
        ["variant", "instructions a request", "against the first", "requests counted"],
    )


if __name__ == "__main__":
    main()
