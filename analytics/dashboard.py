"""The vendor dashboard's data, computed in one place and kept as snapshots.

Every section of the dashboard aggregates the vendor's daily rollups; over 10 million
events that costs a few hundred milliseconds in all (bench/analytics.py). Rollups only
change when ingestion runs, and a dashboard may lag by a minute, so the worker refreshes a
snapshot per vendor and standard period every ANALYTICS_DASHBOARD_REFRESH_SECONDS (beat)
and pages read it. A page with no snapshot (first view, embedded mode without a worker,
custom range or repository filter) computes live and keeps the result for the same time.
"""

import datetime

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from analytics import selectors as queries
from analytics.models import PullRollup
from customers.models import Vendor

SNAPSHOT_SECONDS = 3600  # a refreshed snapshot outlives a stopped worker for an hour


def _key(vendor_id: int, period: queries.DateRange, repository: str) -> str:
    return f"analytics:dashboard:{vendor_id}:{period.start}:{period.end}:{repository}"


def dashboard_compute(*, vendor: Vendor, period: queries.DateRange, repository: str = "") -> dict:
    repo = repository or None
    return {
        "computed_at": timezone.now(),
        "daily": queries.pulls_per_day(vendor=vendor, period=period, repository=repo),
        "top_customers": queries.top_customers(vendor=vendor, period=period, repository=repo),
        "top_repositories": queries.top_repositories(vendor=vendor, period=period),
        "top_tags": queries.top_tags(vendor=vendor, period=period, repository=repo),
        "adoption": queries.version_adoption(vendor=vendor, period=period, repository=repo),
        "quiet": queries.customers_gone_quiet(vendor=vendor),
    }


def dashboard_get(*, vendor: Vendor, period: queries.DateRange, repository: str = "") -> dict:
    """The dashboard's data: the latest snapshot, or computed now (and kept briefly)."""
    key = _key(vendor.id, period, repository)
    data = cache.get(key)
    if data is None:
        data = dashboard_compute(vendor=vendor, period=period, repository=repository)
        cache.set(key, data, settings.ANALYTICS_DASHBOARD_REFRESH_SECONDS)
    return data


def dashboards_refresh(*, today: datetime.date | None = None) -> int:
    """Recompute the standard periods (7, 30, 90 days, all repositories) of every vendor
    with pulls since yesterday; returns how many snapshots were written. Others keep what
    they have until it expires (their numbers are not changing)."""
    today = today or timezone.now().date()
    vendor_ids = (
        PullRollup.objects.filter(day__gte=today - datetime.timedelta(days=1))
        .values_list("vendor_id", flat=True)
        .distinct()
    )
    written = 0
    for vendor in Vendor.objects.filter(id__in=list(vendor_ids)):
        for days in queries.PERIODS:
            period = queries.date_range(days=days, today=today)
            data = dashboard_compute(vendor=vendor, period=period)
            cache.set(_key(vendor.id, period, ""), data, SNAPSHOT_SECONDS)
            written += 1
    return written
