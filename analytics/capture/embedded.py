"""The embedded default (no broker, no Redis): pulls land in the database outbox, and a
daemon thread in each web process runs an ingestion pass every
ANALYTICS_EMBEDDED_INGEST_SECONDS, standing in for Celery beat. Passes are idempotent and
safe to run side by side; an flock lets one process at a time do it, the others only
write the events they hold."""

import contextlib
import fcntl
import logging
import threading
from pathlib import Path

from django.conf import settings
from django.db import close_old_connections

logger = logging.getLogger(__name__)
_started = False
_lock = threading.Lock()


def ingester_ensure_started() -> None:
    global _started
    interval = settings.ANALYTICS_EMBEDDED_INGEST_SECONDS
    if _started or interval <= 0 or not settings.CELERY_TASK_ALWAYS_EAGER:
        return
    with _lock:
        if _started:
            return
        _thread = threading.Thread(
            target=_loop, args=(interval,), name="analytics-ingest", daemon=True
        )
        _thread.start()
        _started = True


def _loop(interval: float) -> None:
    from analytics.ingestion import ingest_pass

    stop = threading.Event()
    while not stop.wait(interval):
        try:
            with _one_ingester() as elected:
                if elected:
                    ingest_pass()
                else:  # another process is ingesting: hand it this process's events
                    from analytics.capture.outbox_buffer import buffer

                    buffer.flush()
        except Exception:
            logger.exception("analytics: embedded ingestion pass failed")
        finally:
            close_old_connections()


@contextlib.contextmanager
def _one_ingester():
    """One ingesting process at a time per DATA_DIR (an flock): on SQLite a second one
    would only redo the same work and wait for the same write lock."""
    path = Path(settings.DATA_DIR) / "analytics-ingest.lock"
    with open(path, "a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
