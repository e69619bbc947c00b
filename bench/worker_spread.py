"""How wrk's keep-alive connections spread over distr's gunicorn workers, run by run.

Starts distr as `bench/run.py` does (gunicorn as deployed), pushes the fixture image, and
runs wrk (`-t2 -c32`, manifest GET with a JWT) several times; two seconds into each run it
counts the established connections per worker process (`ss -tnp`) and it reports each
worker's CPU use over the run. It shows whether a slow round is one worker holding most
connections (bench/README.md, "Fast paths at the WSGI level").

    .venv/bin/python bench/worker_spread.py            # 8 runs of 5 s
    .venv/bin/python bench/worker_spread.py --runs 12 --seconds 10
"""

import argparse
import collections
import contextlib
import os
import re
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import run as B  # noqa: E402


def connections_per_worker(port: int) -> list[int]:
    out = subprocess.run(
        ["ss", "-tnpH", "state", "established", f"( sport = :{port} )"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    return sorted(collections.Counter(re.findall(r"pid=(\d+)", out)).values(), reverse=True)


def cpu_seconds(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--seconds", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="distr-bench-spread-"))
    with contextlib.ExitStack() as stack:
        stack.callback(lambda: __import__("shutil").rmtree(work, ignore_errors=True))
        server = stack.enter_context(B.distr_server(work))
        server.name = "distr"
        fixture = B.Bench(B.FULL, work, [server]).fixture(server)
        url = f"{server.url}/v2/{fixture.repo}/manifests/{fixture.tag}"
        B.wrk_rps(url, 1, B.auth_headers(server, fixture.repo))  # warm-up
        processes = B.descendants(server.process.pid)
        for index in range(args.runs):
            seen: list[list[int]] = []
            probe = threading.Timer(
                2.0, lambda seen=seen: seen.append(connections_per_worker(server.port))
            )
            probe.start()
            before = {pid: cpu_seconds(pid) for pid in processes}
            rps, problems = B.wrk_rps(url, args.seconds, B.auth_headers(server, fixture.repo))
            cpu = [round((cpu_seconds(p) - before[p]) / args.seconds, 2) for p in processes]
            spread = seen[0] if seen else "?"
            print(
                f"run {index}: {rps:7,.0f} req/s, connections per worker {spread}, CPU per"
                f" child process {cpu}, load {os.getloadavg()[0]:.1f} {problems or ''}",
                flush=True,
            )


if __name__ == "__main__":
    main()
