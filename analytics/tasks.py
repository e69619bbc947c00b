"""Celery entry points for analytics; the work is in analytics.ingestion and .retention."""

import logging

from celery import shared_task

from analytics.dashboard import dashboards_refresh as refresh
from analytics.ingestion import ingest_pass
from analytics.retention import pull_events_prune as prune

logger = logging.getLogger(__name__)


@shared_task(name="analytics.tasks.pull_events_ingest", ignore_result=True)
def pull_events_ingest() -> int:
    """One ingestion pass (beat runs it every ANALYTICS_INGEST_INTERVAL_SECONDS). Safe to
    run concurrently and to repeat: the consumer group splits the stream between workers,
    and a re-delivered event is never counted twice."""
    result = ingest_pass()
    if result.read:
        logger.info("analytics: read %s, stored %s", result.read, result.stored)
    return result.stored


@shared_task(name="analytics.tasks.pull_events_prune", ignore_result=True)
def pull_events_prune() -> int:
    return prune()


@shared_task(name="analytics.tasks.dashboards_refresh", ignore_result=True)
def dashboards_refresh() -> int:
    """Recompute dashboard snapshots of vendors with recent pulls (analytics/dashboard.py)."""
    return refresh()
