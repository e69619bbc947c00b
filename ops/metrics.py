"""Prometheus metrics (prometheus-client).

Under gunicorn every worker is a process, so values live in files under
PROMETHEUS_MULTIPROC_DIR (deploy/gunicorn.conf.py sets and clears it) and /metrics
aggregates them; without that variable (runserver, tests) the in-process registry is used.
Gauges of shared state (open uploads, queue length) are read at scrape time.
"""

import os

from django.conf import settings
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

from registry.metrics import BYTES_SERVED, BYTES_UPLOADED, PULLS

__all__ = ["BYTES_SERVED", "BYTES_UPLOADED", "LATENCY", "PULLS", "REQUESTS", "exposition"]

REQUESTS = Counter(
    "distr_http_requests",
    "HTTP requests answered, by route, method and status",
    ["route", "method", "status"],
)
LATENCY = Histogram(
    "distr_http_request_duration_seconds",
    "Time from request to the last byte of the response, by route and method",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)


class SharedStateCollector:
    """Gauges read from PostgreSQL and Redis when scraped (one value for all instances)."""

    def collect(self):
        from registry.models import Upload

        uploads = GaugeMetricFamily(
            "distr_upload_sessions_open", "Blob upload sessions started and not yet finished"
        )
        uploads.add_metric([], Upload.objects.count())
        yield uploads
        yield from _gc_gauges()
        broker = getattr(settings, "CELERY_BROKER_URL", "") or settings.REDIS_URL
        if broker.startswith(("redis://", "rediss://")):
            queue = GaugeMetricFamily(
                "distr_celery_queue_length", "Tasks waiting in the Celery broker", labels=["queue"]
            )
            # Celery's Redis transport keeps a queue's waiting tasks in a list of its name.
            name = settings.CELERY_TASK_DEFAULT_QUEUE
            queue.add_metric([name], _redis_llen(broker, name))
            yield queue


def _gc_gauges():
    """The last finished garbage-collection run's figures and whether one runs now
    (registry/gc/, docs/gc.md)."""
    from registry.gc import gc_last_finished
    from registry.models import GcRun

    running = GaugeMetricFamily("distr_gc_running", "1 while a garbage-collection run is alive")
    running.add_metric([], float(GcRun.objects.filter(status=GcRun.Status.RUNNING).exists()))
    yield running
    last = gc_last_finished()
    figures = {
        "manifests_examined": "Manifests the last GC run examined",
        "manifests_freed": "Manifests the last GC run deleted",
        "blobs_examined": "Blobs the last GC run examined",
        "bytes_examined": "Bytes of the blobs the last GC run examined",
        "blobs_freed": "Blobs the last GC run deleted",
        "bytes_freed": "Bytes the last GC run freed",
        "duration_seconds": "How long the last GC run took",
    }
    for name, help_text in figures.items():
        gauge = GaugeMetricFamily(f"distr_gc_last_{name}", help_text)
        gauge.add_metric([], float(getattr(last, name) or 0) if last else float("nan"))
        yield gauge
    finished = GaugeMetricFamily(
        "distr_gc_last_finished_timestamp_seconds", "When the last GC run finished (Unix time)"
    )
    finished.add_metric([], last.finished_at.timestamp() if last else float("nan"))
    yield finished


def _redis_llen(url: str, key: str) -> float:
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        return float(client.llen(key))
    except redis.RedisError:
        return float("nan")  # unknown, not zero: an alert on the queue must not go quiet


def exposition() -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        process_text = generate_latest(registry)
    else:
        process_text = generate_latest(REGISTRY)
    shared = CollectorRegistry()
    shared.register(SharedStateCollector())
    return process_text + generate_latest(shared)
