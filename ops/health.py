"""Readiness checks: can this instance reach what every request needs?

Each check returns None when healthy or raises; `readiness()` names each dependency in
its answer so an operator sees which one is down. The answer is unauthenticated (probes
send no credentials), so it carries only the error's type: the message, which can name
database hosts, users or buckets, goes to the log.
"""

import logging
import time

from django.conf import settings
from django.db import connection

from registry.storage import blob_store

_redis_client = None
log = logging.getLogger("distr.health")


def database_check() -> str | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return None


def storage_check() -> str | None:
    blob_store().check()
    return None


def redis_check() -> str | None:
    global _redis_client
    if not settings.REDIS_URL:
        return None
    if _redis_client is None:
        import redis

        # Short timeouts: a probe must answer before Kubernetes gives up on it.
        _redis_client = redis.Redis.from_url(
            settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1
        )
    _redis_client.ping()
    return None


CHECKS = {"database": database_check, "storage": storage_check, "redis": redis_check}


def readiness() -> tuple[bool, dict]:
    """(ready, {name: {"ok": bool, "ms": float, "error"?: str}})."""
    results = {}
    for name, check in CHECKS.items():
        started = time.perf_counter()
        try:
            check()
            result = {"ok": True}
        except Exception as error:  # noqa: BLE001 - any failure means not ready
            log.warning("readiness: %s failed: %s: %s", name, type(error).__name__, error)
            result = {"ok": False, "error": type(error).__name__}
        result["ms"] = round((time.perf_counter() - started) * 1000, 1)
        if name == "redis" and not settings.REDIS_URL:
            result["configured"] = False
        results[name] = result
    return all(r["ok"] for r in results.values()), results
