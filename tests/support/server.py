"""A real gunicorn serving distr for tests that use real clients (skopeo, oras, requests)."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import requests
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url() -> str:
    """The URL of the database the test process is using (the test database)."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    user = quote(db.get("USER") or "")
    password = f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else ""
    return (
        f"postgres://{user}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )


# Requests to the live registry carry the current test's push token (set by the
# `live_credentials` fixture in tests/conftest.py).
live_http = requests.Session()


class LiveRegistry:
    def __init__(self, extra_env: dict | None = None):
        self.credentials: tuple[str, str] | None = None  # (user, secret) for this test
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.url = f"http://{self.host}"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "DATA_DIR": str(settings.DATA_DIR),
            "DATABASE_URL": database_url(),
            "PORT": str(self.port),
            # Its real address is its public URL: mail links and the token realm come
            # from configuration only, never the Host header. The token service stays the
            # name tests use in token requests; the server's own default (its PORT) is
            # tested in tests/readme/test_public_url.py.
            "DISTR_PUBLIC_URL": f"http://{self.host}",
            "REGISTRY_SERVICE": settings.REGISTRY_SERVICE,
            "WEB_CONCURRENCY": "2",
            "GUNICORN_ACCESS_LOG": "",
            **(extra_env or {}),
        }
        self.log_path = Path(settings.DATA_DIR) / f"gunicorn-{self.port}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "distr.wsgi"],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.log_path.read_text()[-2000:]}")
            try:
                # 401 with a challenge is the healthy answer to an anonymous /v2/.
                if requests.get(f"{self.url}/v2/", timeout=1).status_code == 401:
                    return
            except requests.RequestException:  # not listening yet, or still booting
                time.sleep(0.1)
        raise RuntimeError(f"gunicorn not ready: {self.log_path.read_text()[-2000:]}")

    @property
    def auth_header(self) -> str:
        """`Authorization` value for hand-written requests (Basic with the token secret)."""
        import base64

        user, secret = self.credentials
        return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self._log.close()
