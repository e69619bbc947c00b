"""The embedded default (no broker, no Redis): pulls land in the database outbox, and a
daemon thread in each web process runs an ingestion pass every
ANALYTICS_EMBEDDED_INGEST_SECONDS, standing in for Celery beat. Passes are idempotent and
safe to run side by side, so every gunicorn worker may run one."""

import logging
import threading

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
            ingest_pass()
        except Exception:
            logger.exception("analytics: embedded ingestion pass failed")
        finally:
            close_old_connections()
