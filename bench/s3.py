"""Blob pulls with STORAGE_BACKEND=s3 against a moto server: redirect on versus off.

Two distr instances run side by side on one SQLite database and one moto bucket: one
answers blob GETs with a 307 to a presigned URL (S3_REDIRECT=true, the default), the other
streams the bytes through itself (S3_REDIRECT=false). The same blob is pulled from each,
alternating, and the table gives the median pull time and the CPU seconds the web process
(gunicorn master and workers, from /proc/<pid>/stat) spent per GB pulled. moto's CPU is
shown too: with redirects on, the object store does the work distr no longer does.

    make bench-s3                      # 256 MiB blob, 5 pulls per mode
    .venv/bin/python bench/s3.py --quick
"""

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
from tests.support.moto import MIB, MotoServer  # noqa: E402 - needs REPO_ROOT on sys.path
from tests.support.server import free_port  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
GB = 1000**3


def cpu_seconds(pid: int) -> float:
    """utime + stime of `pid` and its live children (gunicorn workers)."""
    total = 0.0
    for candidate in [pid, *children(pid)]:
        try:
            fields = Path(f"/proc/{candidate}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime
    return total


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


def start_distr(env: dict, port: int, redirect: bool, log_dir: Path) -> subprocess.Popen:
    log = open(log_dir / f"distr-{port}.log", "wb")  # noqa: SIM115 - lives with the process
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "distr.wsgi"],
        cwd=REPO_ROOT,
        env={
            **env,
            "PORT": str(port),
            "S3_REDIRECT": "true" if redirect else "false",
            "DISTR_PUBLIC_URL": f"http://127.0.0.1:{port}",
        },
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok:
                return process
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError(f"distr on {port} did not start")


def push_blob(url: str, auth, repo: str, size: int) -> str:
    hasher = hashlib.sha256()
    chunk = os.urandom(MIB)

    def body():
        for i in range(size // MIB):
            piece = chunk[:-8] + i.to_bytes(8, "big")
            hasher.update(piece)
            yield piece

    start = requests.post(f"{url}/v2/{repo}/blobs/uploads/", auth=auth, timeout=30)
    location = url + start.headers["Location"]
    assert requests.patch(location, data=body(), auth=auth, timeout=600).status_code == 202
    digest = f"sha256:{hasher.hexdigest()}"
    done = requests.put(f"{location}?digest={digest}", auth=auth, timeout=600)
    assert done.status_code == 201, done.text
    return digest


def pull(url: str, auth, repo: str, digest: str, size: int) -> float:
    started = time.perf_counter()
    with requests.get(f"{url}/v2/{repo}/blobs/{digest}", auth=auth, stream=True, timeout=600) as r:
        r.raise_for_status()
        received = sum(len(c) for c in r.iter_content(MIB))
    elapsed = time.perf_counter() - started
    assert received == size, (received, size)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--pulls", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="64 MiB, 3 pulls")
    args = parser.parse_args()
    if args.quick:
        args.size_mib, args.pulls = 64, 3
    size = args.size_mib * MIB

    workdir = Path(tempfile.mkdtemp(prefix="distr-bench-s3-"))
    moto = MotoServer(workdir)
    processes: list[subprocess.Popen] = []
    try:
        bucket = moto.bucket_create()
        keep = ("PATH", "HOME", "LANG", "TMPDIR")
        env = {k: v for k, v in os.environ.items() if k in keep}
        env.update(
            moto.env(bucket, S3_PART_BYTES=str(8 * MIB)),
            DATA_DIR=str(workdir / "data"),
            DJANGO_SETTINGS_MODULE="distr.settings",
            WEB_CONCURRENCY="2",
            LOG_LEVEL="WARNING",
        )
        manage = [sys.executable, "manage.py"]
        subprocess.run(
            [*manage, "migrate", "--noinput"],
            cwd=REPO_ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        secret = (
            subprocess.run(
                [*manage, "seeddemo", "--vendor", "acme"],
                cwd=REPO_ROOT,
                env=env,
                check=True,
                capture_output=True,
                text=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        auth = ("ci", secret)
        servers = {}
        for mode, redirect in (("redirect", True), ("stream", False)):
            port = free_port()
            process = start_distr(env, port, redirect, workdir)
            processes.append(process)
            servers[mode] = (f"http://127.0.0.1:{port}", process.pid)

        repo = "acme/bench-s3"
        digest = push_blob(servers["redirect"][0], auth, repo, size)
        for url, _pid in servers.values():  # warm up: connections, imports, caches
            pull(url, auth, repo, digest, size)

        times = {mode: [] for mode in servers}
        web_cpu = dict.fromkeys(servers, 0.0)
        store_cpu = dict.fromkeys(servers, 0.0)
        for _ in range(args.pulls):
            for mode, (url, pid) in servers.items():
                before, store_before = cpu_seconds(pid), cpu_seconds(moto.process.pid)
                times[mode].append(pull(url, auth, repo, digest, size))
                web_cpu[mode] += cpu_seconds(pid) - before
                store_cpu[mode] += cpu_seconds(moto.process.pid) - store_before

        pulled_gb = args.pulls * size / GB
        print(f"blob {args.size_mib} MiB, {args.pulls} pulls per mode, moto on loopback")
        print(
            f"{'mode':<10}{'median pull s':>15}{'MB/s':>9}{'web CPU s/GB':>15}{'moto CPU s/GB':>15}"
        )
        for mode in servers:
            median = statistics.median(times[mode])
            print(
                f"{mode:<10}{median:>15.3f}{size / 1e6 / median:>9.0f}"
                f"{web_cpu[mode] / pulled_gb:>15.3f}{store_cpu[mode] / pulled_gb:>15.2f}"
            )
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=15)
        moto.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
