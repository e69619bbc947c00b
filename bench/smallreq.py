"""Small requests, several distr configurations side by side with CNCF Distribution.

Starts each distr configuration (environment overrides, e.g. WEB_CONCURRENCY,
GUNICORN_THREADS, ANALYTICS_CAPTURE_ENABLED) and Distribution with bench/run.py's own
functions, pushes its fixture image, and then, round by round with the order flipped each
round, measures manifest GET (wrk -t2 -c32) and blob HEAD (ab -k -c32) on each, with a
fresh JWT per run. Prints each round, the per-round ratios to Distribution and their
median, and the PSS of every server (master and workers) idle and after the load.

    .venv/bin/python bench/smallreq.py '{"default": {}, "one-worker": {"WEB_CONCURRENCY": "1"}}'
    .venv/bin/python bench/smallreq.py '{"default": {}}' --rounds 5 --seconds 10 --heads 8000
"""

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import run as B  # noqa: E402


def pss_mib(server) -> int:
    pids = [server.process.pid, *B.descendants(server.process.pid)]
    return sum(B.pss_bytes(pid) or 0 for pid in pids) // 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("configs", help='JSON: {"name": {"ENV": "value"}, ...}')
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=10, help="per wrk run")
    parser.add_argument("--heads", type=int, default=8000, help="requests per ab run; 0: none")
    args = parser.parse_args()
    configs = json.loads(args.configs)
    work = Path(tempfile.mkdtemp(prefix="distr-bench-smallreq-"))
    B.RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    print(f"load average {os.getloadavg()[0]:.1f} before", flush=True)
    with contextlib.ExitStack() as stack:
        stack.callback(lambda: __import__("shutil").rmtree(work, ignore_errors=True))
        servers, base_env = [], dict(os.environ)
        for name, env in configs.items():
            os.environ.clear()
            os.environ.update({**base_env, **env})
            (work / name).mkdir()
            server = stack.enter_context(B.distr_server(work / name))
            server.name = name
            servers.append(server)
        os.environ.clear()
        os.environ.update(base_env)
        servers.append(stack.enter_context(B.distribution_server(work)))
        print("idle PSS MiB", {s.name: pss_mib(s) for s in servers}, flush=True)
        bench = B.Bench(B.FULL, work, servers)
        fixtures = {s.name: bench.fixture(s) for s in servers}

        def urls(server):
            f = fixtures[server.name]
            base = f"{server.url}/v2/{f.repo}"
            return f"{base}/manifests/{f.tag}", f"{base}/blobs/{f.layer}", f.repo

        for server in servers:  # warm-up: every worker has served
            manifest, blob, repo = urls(server)
            B.wrk_rps(manifest, 1, B.auth_headers(server, repo))
            B.ab_rps(blob, 500, B.auth_headers(server, repo))
        results = {s.name: {"manifest": [], "head": []} for s in servers}
        for index in range(args.rounds):
            for server in servers if index % 2 == 0 else list(reversed(servers)):
                manifest, blob, repo = urls(server)
                rps, problems = B.wrk_rps(manifest, args.seconds, B.auth_headers(server, repo))
                results[server.name]["manifest"].append(rps)
                if args.heads:
                    head, more = B.ab_rps(blob, args.heads, B.auth_headers(server, repo))
                    results[server.name]["head"].append(head)
                    problems += more
                for problem in problems:
                    print(f"  {server.name}: {problem}")
            figures = {n: [round(v[-1]) for v in r.values() if v] for n, r in results.items()}
            print(f"round {index}: {figures} load {os.getloadavg()[0]:.1f}", flush=True)
        dist = results["distribution"]
        for name, figures in results.items():
            line = f"{name:16s}"
            for what, values in figures.items():
                if values:
                    ratios = [a / b for a, b in zip(values, dist[what], strict=True)]
                    line += (
                        f" | {what} median {statistics.median(values):,.0f} req/s, ratio "
                        f"{statistics.median(ratios):.2f}x per round "
                        f"{[round(r, 2) for r in ratios]}"
                    )
            print(line)
        print("PSS MiB after the load", {s.name: pss_mib(s) for s in servers})
        print(f"load average {os.getloadavg()[0]:.1f} after")


if __name__ == "__main__":
    main()
