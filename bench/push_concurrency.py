"""The write path under concurrency, and many clients pulling one image: distr against CNCF
Distribution 2.8 (Debian's `docker-registry`) in the same run.

Push figure: PUSHES pushes of a 1 KiB artifact (a unique JSON config, one 1 KiB random
layer, an OCI manifest under a new tag) by CLIENTS concurrent clients, either all into
ONE repository or spread round-robin over REPOS repositories. Each push is what docker
does, in five requests on a keep-alive connection: POST an upload and PUT it with
`?digest=` for each blob (Distribution 2.8 ignores a monolithic `POST ?digest=`), then
PUT the manifest. distr is pushed to with `Authorization: Bearer <JWT>` from its
`/v2/token` for the repository (fetched before the clock starts), Distribution without
auth. Configurations: distr on the embedded default (SQLite in a temp DATA_DIR), distr on
PostgreSQL (+ Redis when `--redis` is given), and Distribution on its filesystem store;
each on a fresh store, single and spread alternating.

Pull figure: PULL_CLIENTS concurrent clients each pull a PULL_MIB MiB image (manifest,
config, one layer) from one repository PULL_ROUNDS times; completions per second, p50 and
p95 of one image pull, and errors (a non-200 or short body).

The clients are processes x threads of plain `http.client` (no requests/urllib overhead),
on the same 2-core machine as the servers: every figure is relative (distr against
Distribution, single against spread on the same run), not an absolute capacity.

Run: `make bench-push` or `.venv/bin/python bench/push_concurrency.py [--pushes 2000]
[--clients 50] [--repos 1000] [--postgres postgres://postgres@127.0.0.1:5432/bench_push]
[--redis redis://127.0.0.1:6379/7] [--pull-clients 500] [--pull-mib 10] [--skip-pull]`.
The issue's 100,000 pushes take about an hour per run on 2 cores (distr pushes 20-30 a
second there); the default 2,000 take a minute or two each (bench/README.md has the
figures).
"""

import argparse
import contextlib
import hashlib
import http.client
import json
import multiprocessing
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

sys.path.insert(0, str(REPO_ROOT / "bench"))
import run as bench_run  # noqa: E402 - bench/run.py: the servers, as `make bench` runs them

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def manifest_of(config: bytes, layer: bytes) -> bytes:
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": sha(config), "size": len(config)},
            "layers": [{"mediaType": OCI_LAYER, "digest": sha(layer), "size": len(layer)}],
        }
    ).encode()


# --- servers --------------------------------------------------------------------------


@contextlib.contextmanager
def distr_server(workdir: Path, *, database_url: str = "", redis_url: str = ""):
    """bench/run.py's distr (gunicorn with deploy/gunicorn.conf.py, vendor `acme` from
    seeddemo), optionally on PostgreSQL and Redis instead of the embedded default."""
    if not database_url:
        with bench_run.distr_server(workdir) as server:
            yield server
        return
    port = bench_run.free_port()
    env = {k: v for k, v in os.environ.items() if k not in bench_run._DISTR_ENV_DROPPED}
    env.update(
        DATA_DIR=str(workdir / "distr-data"),
        DATABASE_URL=database_url,
        DISTR_PUBLIC_URL=f"http://127.0.0.1:{port}",
        HOST="127.0.0.1",
        PORT=str(port),
        GUNICORN_ACCESS_LOG="",
        LOG_LEVEL="WARNING",
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
    manage = [str(bench_run.VENV_BIN / "python"), "manage.py"]
    bench_run.run([*manage, "migrate", "--noinput"], env=env, timeout=300)
    secret = bench_run.run([*manage, "seeddemo", "--vendor", "acme"], env=env).strip()
    command = [
        str(bench_run.VENV_BIN / "gunicorn"),
        "-c",
        "deploy/gunicorn.conf.py",
        "--no-control-socket",
        "distr.wsgi",
    ]
    auth = {"namespace": "acme/", "secret": secret}
    with bench_run._running("distr-pg", command, env, port, auth) as server:
        yield server


def postgres_fresh(url: str) -> None:
    """Drop and create the database `url` names (a fresh store per configuration)."""
    import psycopg

    parts = urllib.parse.urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urllib.parse.urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def redis_flush(url: str) -> None:
    if url:
        import redis

        redis.Redis.from_url(url).flushdb()


def tokens_for(server, repos: list[str]) -> dict[str, str]:
    """repo -> Authorization header value (distr: a JWT per repository; else nothing)."""
    if server.secret is None:
        return {}
    return {repo: bench_run.auth_headers(server, repo)["Authorization"] for repo in repos}


# --- the clients ------------------------------------------------------------------------


class Conn:
    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.conn = http.client.HTTPConnection(host, port, timeout=120)

    def request(self, method: str, path: str, body: bytes = b"", headers=None):
        for attempt in (0, 1):
            try:
                self.conn.request(method, path, body=body, headers=headers or {})
                response = self.conn.getresponse()
                data = response.read()
                return response.status, response.headers, data
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # a keep-alive connection the server closed: reconnect once
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
                if attempt:
                    raise
        raise AssertionError("unreachable")


def push_one(conn: Conn, repo: str, n: int, auth: str | None) -> str | None:
    """One artifact; None when every request answered as it should, else the problem."""
    headers = {"Authorization": auth} if auth else {}
    config = json.dumps({"architecture": "amd64", "os": "linux", "n": n, "r": repo}).encode()
    layer = os.urandom(1024)
    for blob in (config, layer):
        status, response_headers, body = conn.request(
            "POST", f"/v2/{repo}/blobs/uploads/", b"", headers
        )
        if status != 202:
            return f"upload POST {status} {body[:200]!r}"
        location = urllib.parse.urlsplit(response_headers["Location"])
        query = (location.query + "&" if location.query else "") + f"digest={sha(blob)}"
        status, _, body = conn.request(
            "PUT",
            f"{location.path}?{query}",
            blob,
            {**headers, "Content-Type": "application/octet-stream"},
        )
        if status != 201:
            return f"blob PUT {status} {body[:200]!r}"
    raw = manifest_of(config, layer)
    status, _, body = conn.request(
        "PUT", f"/v2/{repo}/manifests/t{n}", raw, {**headers, "Content-Type": OCI_MANIFEST}
    )
    if status != 201:
        return f"manifest PUT {status} {body[:200]!r}"
    return None


def _push_worker(args) -> dict:
    host, port, jobs, auths, threads = args
    lock = threading.Lock()
    it = iter(jobs)
    done, errors, latencies = [0], [], []

    def loop():
        conn = Conn(host, port)
        while True:
            with lock:
                job = next(it, None)
            if job is None:
                return
            repo, n = job
            start = time.perf_counter()
            try:
                problem = push_one(conn, repo, n, auths.get(repo))
            except OSError as error:
                problem = f"{type(error).__name__}: {error}"
                conn = Conn(host, port)
            elapsed = time.perf_counter() - start
            with lock:
                if problem is None:
                    done[0] += 1
                    latencies.append(elapsed)
                else:
                    errors.append(problem)

    workers = [threading.Thread(target=loop) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return {"done": done[0], "errors": errors, "latencies": latencies}


def client_split(clients: int) -> tuple[int, int]:
    """(processes, threads each): at most two processes (2 cores), clients threads in all."""
    procs = 2 if clients >= 2 else 1
    return procs, clients // procs


def run_clients(worker, per_process_args: list) -> tuple[list[dict], float]:
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(len(per_process_args)) as pool:
        start = time.perf_counter()
        results = pool.map(worker, per_process_args)
        elapsed = time.perf_counter() - start
    return results, elapsed


def push_run(server, repos: list[str], pushes: int, clients: int, offset: int) -> dict:
    auths = tokens_for(server, repos)
    jobs = [(repos[i % len(repos)], offset + i) for i in range(pushes)]
    procs, threads = client_split(clients)
    shares = [jobs[p::procs] for p in range(procs)]
    args = [("127.0.0.1", server.port, share, auths, threads) for share in shares]
    results, elapsed = run_clients(_push_worker, args)
    done = sum(r["done"] for r in results)
    errors = [e for r in results for e in r["errors"]]
    latencies = sorted(x for r in results for x in r["latencies"])
    return {
        "pushes": done,
        "errors": len(errors),
        "first_errors": errors[:3],
        "seconds": elapsed,
        "rate": done / elapsed,
        "p50_ms": 1000 * statistics.median(latencies) if latencies else None,
        "p95_ms": 1000 * latencies[int(0.95 * (len(latencies) - 1))] if latencies else None,
    }


def pull_prepare(server, repo: str, mib: int) -> tuple[str, int]:
    """Push the image to pull; returns (manifest digest, layer size)."""
    conn = Conn("127.0.0.1", server.port)
    auth = tokens_for(server, [repo]).get(repo)
    headers = {"Authorization": auth} if auth else {}
    config = json.dumps({"architecture": "amd64", "os": "linux", "pull": True}).encode()
    layer = os.urandom(mib * 2**20)
    for blob in (config, layer):
        status, response_headers, body = conn.request(
            "POST", f"/v2/{repo}/blobs/uploads/", b"", headers
        )
        assert status == 202, (status, body)
        location = urllib.parse.urlsplit(response_headers["Location"])
        query = (location.query + "&" if location.query else "") + f"digest={sha(blob)}"
        status, _, body = conn.request(
            "PUT", f"{location.path}?{query}", blob, {**headers, "Content-Type": "application/x"}
        )
        assert status == 201, (status, body)
    raw = manifest_of(config, layer)
    status, _, body = conn.request(
        "PUT", f"/v2/{repo}/manifests/big", raw, {**headers, "Content-Type": OCI_MANIFEST}
    )
    assert status == 201, (status, body)
    return sha(raw), len(layer)


def _pull_worker(args) -> dict:
    host, port, repo, auth, threads, rounds, layer_size, start_at = args
    headers = {"Authorization": auth} if auth else {}
    lock = threading.Lock()
    latencies, errors = [], []
    barrier = threading.Barrier(threads)

    def pull(conn: Conn) -> str | None:
        status, _, body = conn.request(
            "GET", f"/v2/{repo}/manifests/big", headers={**headers, "Accept": OCI_MANIFEST}
        )
        if status != 200:
            return f"manifest GET {status}"
        manifest = json.loads(body)
        for descriptor in (manifest["config"], *manifest["layers"]):
            status, _, body = conn.request(
                "GET", f"/v2/{repo}/blobs/{descriptor['digest']}", headers=headers
            )
            if status != 200 or len(body) != descriptor["size"]:
                return f"blob GET {status} {len(body)} of {descriptor['size']} bytes"
        return None

    def loop():
        conn = Conn(host, port)
        barrier.wait()
        while time.time() < start_at:  # every process starts together
            time.sleep(0.005)
        for _ in range(rounds):
            begun = time.perf_counter()
            try:
                problem = pull(conn)
            except (OSError, http.client.HTTPException) as error:
                problem = f"{type(error).__name__}: {error}"
                conn = Conn(host, port)
            elapsed = time.perf_counter() - begun
            with lock:
                (errors.append(problem) if problem else latencies.append(elapsed))

    workers = [threading.Thread(target=loop) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return {"latencies": latencies, "errors": errors}


def pull_run(server, repo: str, clients: int, rounds: int, layer_size: int) -> dict:
    auth = tokens_for(server, [repo]).get(repo)
    procs, threads = client_split(clients)
    start_at = time.time() + 2 + clients / 200  # threads connected before the clock starts
    args = [
        ("127.0.0.1", server.port, repo, auth, threads, rounds, layer_size, start_at)
        for _ in range(procs)
    ]
    results, _ = run_clients(_pull_worker, args)
    elapsed = time.time() - start_at
    latencies = sorted(x for r in results for x in r["latencies"])
    errors = [e for r in results for e in r["errors"]]
    return {
        "completions": len(latencies),
        "errors": len(errors),
        "first_errors": errors[:3],
        "seconds": elapsed,
        "rate": len(latencies) / elapsed,
        "p50_s": statistics.median(latencies) if latencies else None,
        "p95_s": latencies[int(0.95 * (len(latencies) - 1))] if latencies else None,
    }


# --- the run ----------------------------------------------------------------------------


def configuration(name: str, server, args) -> dict:
    ns = server.namespace
    single = [f"{ns}bench/one"]
    spread = [f"{ns}bench/r{i:04d}" for i in range(min(args.repos, args.pushes))]
    out = {"single": [], "spread": []}
    offset = 0
    order = ["single", "spread"]
    for round_ in range(args.rounds):
        for kind in order if round_ % 2 == 0 else reversed(order):
            repos = single if kind == "single" else spread
            result = push_run(server, repos, args.pushes, args.clients, offset)
            offset += args.pushes
            out[kind].append(result)
            print(
                f"  {name:13} {kind:6} {result['rate']:7.1f} pushes/s  "
                f"p50 {result['p50_ms']:.0f} ms  p95 {result['p95_ms']:.0f} ms  "
                f"errors {result['errors']} {result['first_errors'][:1]}",
                flush=True,
            )
    if not args.skip_pull:
        repo = f"{ns}bench/pull"
        _, layer_size = pull_prepare(server, repo, args.pull_mib)
        result = pull_run(server, repo, args.pull_clients, args.pull_rounds, layer_size)
        out["pull"] = result
        print(
            f"  {name:13} pull   {result['rate']:7.1f} images/s  p50 {result['p50_s']:.2f} s  "
            f"p95 {result['p95_s']:.2f} s  errors {result['errors']} "
            f"{result['first_errors'][:1]}",
            flush=True,
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pushes", type=int, default=2000, help="per run")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--repos", type=int, default=1000, help="spread over this many")
    parser.add_argument("--rounds", type=int, default=1, help="single/spread runs per server")
    parser.add_argument("--postgres", default=os.environ.get("BENCH_POSTGRES_URL", ""))
    parser.add_argument("--redis", default=os.environ.get("BENCH_REDIS_URL", ""))
    parser.add_argument("--only", action="append", choices=["sqlite", "postgres", "distribution"])
    parser.add_argument("--pull-clients", type=int, default=500)
    parser.add_argument("--pull-rounds", type=int, default=2)
    parser.add_argument("--pull-mib", type=int, default=10)
    parser.add_argument("--skip-pull", action="store_true")
    args = parser.parse_args()
    bench_run.RESULTS_DIR.mkdir(exist_ok=True)
    wanted = args.only or ["sqlite", "postgres", "distribution"]
    if "postgres" in wanted and not args.postgres:
        print("no --postgres URL (or BENCH_POSTGRES_URL): PostgreSQL skipped", flush=True)
        wanted = [w for w in wanted if w != "postgres"]
    print(
        f"{args.pushes} pushes per run, {args.clients} clients, spread over "
        f"{min(args.repos, args.pushes)} repositories; pull: {args.pull_clients} clients x "
        f"{args.pull_rounds} of a {args.pull_mib} MiB image",
        flush=True,
    )
    results = {}
    for name in wanted:
        workdir = Path(tempfile.mkdtemp(prefix="distr-bench-push-"))
        try:
            if name == "distribution":
                context = bench_run.distribution_server(workdir)
            elif name == "postgres":
                postgres_fresh(args.postgres)
                redis_flush(args.redis)
                context = distr_server(workdir, database_url=args.postgres, redis_url=args.redis)
            else:
                context = distr_server(workdir)
            with context as server:
                results[name] = configuration(
                    f"distr-{name}" if name != "distribution" else name, server, args
                )
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    summary(results)
    out = bench_run.RESULTS_DIR / "push_concurrency.json"
    out.write_text(json.dumps({"args": vars(args), "results": results}, indent=2))
    print(f"raw figures: {out}")


def summary(results: dict) -> None:
    def rate(name, kind):
        runs = results.get(name, {}).get(kind) or []
        return statistics.median(r["rate"] for r in runs) if runs else None

    dist = rate("distribution", "single")
    print("\nconfiguration   single/s  spread/s  single/spread  single/Distribution")
    for name in results:
        single, spread = rate(name, "single"), rate(name, "spread")
        vs = f"{single / dist:.2f}" if dist and name != "distribution" else "-"
        print(f"{name:14} {single:9.1f} {spread:9.1f} {single / spread:14.2f}  {vs:>19}")


if __name__ == "__main__":
    main()
