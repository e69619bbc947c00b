"""A real Celery worker process (solo pool) on the real Redis, sharing the test database."""

import os
import subprocess
import sys
import time
from pathlib import Path

from celery import Celery
from django.conf import settings

from tests.support.server import ROOT, database_url

INGEST_TASK = "analytics.tasks.pull_events_ingest"


class CeleryWorker:
    def __init__(self, *, broker_url: str, queue: str, env: dict[str, str], name: str):
        self.queue = queue
        self.log_path = Path(settings.DATA_DIR) / f"celery-{name}-{os.getpid()}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "distr",
                "worker",
                "--pool=solo",
                "-c",
                "1",
                "-l",
                "INFO",
                "--without-mingle",
                "--without-gossip",
                "--without-heartbeat",
                "-Q",
                queue,
                "-n",
                f"{name}@%h",
            ],
            cwd=ROOT,
            env={
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "tests.settings",
                "DATA_DIR": str(settings.DATA_DIR),
                "DATABASE_URL": database_url(),
                "CELERY_BROKER_URL": broker_url,
                "CELERY_TASK_DEFAULT_QUEUE": queue,
                **env,
            },
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.app = Celery(broker=broker_url)
        self.wait_for_log("ready.")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_log(self, text: str, timeout: float = 30, after: int = 0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log()[after:]:
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"celery worker exited:\n{self.log()[-3000:]}")
            time.sleep(0.05)
        raise TimeoutError(f"no {text!r} in the worker log:\n{self.log()[-3000:]}")

    def ingest(self) -> None:
        self.app.send_task(INGEST_TASK, queue=self.queue)

    def kill(self) -> None:
        self.process.kill()  # SIGKILL: no warm shutdown, no cleanup
        self.process.wait(timeout=10)
        self._log.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self._log.close()
