"""A whole distr install for tests that change state from one process and watch another:
its own DATA_DIR and database, `manage.py` in subprocesses, and gunicorn started the way
`make run` starts it (distr.settings, deploy/gunicorn.conf.py, the default worker count).

Two shapes: `embedded` (SQLite under DATA_DIR, no Redis: the `make run` default) and
`postgres+redis` (a fresh PostgreSQL database and a Redis database of the local servers).
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import requests

from tests.support.server import ROOT, free_port

POSTGRES_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
COHERENCE_REDIS_URL = "redis://127.0.0.1:6379/13"
# Variables of the test run that must not leak into an install's processes.
_NOT_INHERITED = ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "DISTR_PUBLIC_URL")


class Install:
    def __init__(self, shape: str, extra_env: dict | None = None):
        self.shape = shape
        self.data_dir = Path(tempfile.mkdtemp(prefix=f"distr-{shape.replace('+', '-')}-"))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.host = f"127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if k not in _NOT_INHERITED}
        env.update({"DATA_DIR": str(self.data_dir), "PORT": str(self.port)})
        # Tests against an install make many refused requests from 127.0.0.1 on purpose
        # (revoked tokens, denied tags): the per-address failure limit (tested on its own in
        # tests/registry/auth) would answer 429 to the next test's fixtures instead.
        env["REGISTRY_AUTH_FAILURES_PER_MINUTE"] = "100000"
        self._database = None
        if shape == "postgres+redis":
            self._database = f"distr_install_{uuid.uuid4().hex[:10]}"
            _postgres(f"CREATE DATABASE {self._database}")
            import redis

            redis.Redis.from_url(COHERENCE_REDIS_URL).flushdb()
            env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{self._database}"
            env["REDIS_URL"] = COHERENCE_REDIS_URL
        env.update(extra_env or {})
        self.env = env
        self.process: subprocess.Popen | None = None
        self.log_path = self.data_dir / "gunicorn.log"

    # --- processes ------------------------------------------------------------------

    def manage(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """`manage.py ARGS` in its own process, as an operator would run it."""
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"manage.py {' '.join(args)} failed:\n{result.stderr[-3000:]}")
        return result

    def python(self, code: str) -> str:
        """Run Django code in a separate process (`manage.py shell -c`); returns stdout."""
        return self.manage("shell", "-c", code).stdout

    def prepare(self) -> None:
        """What `make run` does before serving: migrate and collect static files."""
        self.manage("migrate", "--noinput")
        self.manage("collectstatic", "--noinput", "--verbosity", "0")

    def start(self) -> None:
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "distr.wsgi"],
            cwd=ROOT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.log_path.read_text()[-3000:]}")
            try:
                if requests.get(f"{self.url}/v2/", timeout=1).status_code == 401:
                    return
            except requests.RequestException:
                time.sleep(0.1)
        raise RuntimeError(f"gunicorn not ready: {self.log_path.read_text()[-3000:]}")

    def stop_server(self) -> None:
        """Stop gunicorn (its log is complete afterwards); the data stays."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
            self._log.close()

    def stop(self) -> None:
        self.stop_server()
        if self._database:
            _postgres(f"DROP DATABASE IF EXISTS {self._database} WITH (FORCE)")
        if not os.environ.get("DISTR_TEST_KEEP_INSTALL"):  # for a post-mortem
            shutil.rmtree(self.data_dir, ignore_errors=True)

    # --- what the server said -------------------------------------------------------

    def ingester_pid(self) -> int | None:
        """The analytics ingester the master forks on an install without a broker (a
        child of the master that is not a worker; deploy/gunicorn.conf.py), from the log."""
        for line in self.log_path.read_text(errors="replace").splitlines():
            if "analytics ingester started (pid" in line:
                return int(line.rsplit("(pid ", 1)[1].split(")")[0])
        return None

    def worker_pids(self) -> list[int]:
        """The master's children that serve requests."""
        master = self.process.pid
        children = open(f"/proc/{master}/task/{master}/children").read().split()
        return [int(pid) for pid in children if int(pid) != self.ingester_pid()]

    def served_by(self, request_ids: set[str]) -> set[int]:
        """Worker pids that logged these request ids (the JSON request log)."""
        pids = set()
        for line in self.log_path.read_text(errors="replace").splitlines():
            if '"request_id"' not in line:
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("request_id") in request_ids:
                pids.add(entry["pid"])
        return pids


class HttpClient:
    """The Django-test-client calls tests/support/registry_client.py makes, over HTTP to a
    live server, with Basic credentials."""

    def __init__(self, url: str, auth: tuple[str, str]):
        self.url, self.auth = url, auth

    def _send(self, method: str, path: str, data=b"", content_type="application/octet-stream"):
        return requests.request(
            method,
            self.url + path,
            data=data,
            headers={"Content-Type": content_type},
            auth=self.auth,
            timeout=30,
        )

    def post(self, path, data=b"", content_type="application/octet-stream"):
        return self._send("POST", path, data, content_type)

    def put(self, path, data=b"", content_type="application/octet-stream"):
        return self._send("PUT", path, data, content_type)

    def delete(self, path):
        return self._send("DELETE", path)


def portal_sign_in(url: str, email: str, password: str, vendor: str = "acme"):
    """Sign in on a vendor's portal with a new session (and connection), as a browser
    without JavaScript would; returns (session, the page it ended on)."""
    session = requests.Session()
    login = f"{url}/p/{vendor}/accounts/login/"
    session.get(login, timeout=10)
    response = session.post(
        login,
        data={
            "login": email,
            "password": password,
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
        },
        headers={"Referer": login},
        timeout=10,
    )
    return session, response


def postgres_available() -> bool:
    try:
        _postgres("SELECT 1")
    except Exception:  # noqa: BLE001 - any failure means: not here
        return False
    return True


def _postgres(sql: str) -> None:
    import psycopg

    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=3) as conn:
        conn.execute(sql)
