"""The console's storage page: usage against the quota, storage over time, where the bytes
are, and images nobody pulls. Here, above analytics, because "not pulled" needs the pull
rollups and the registry must not import analytics (docs/architecture.md)."""

import datetime
from dataclasses import dataclass

from django.utils import timezone

from analytics.selectors import last_pull_days
from customers.models import Vendor
from registry.models import StorageSnapshot, Tag
from registry.usage import quota_limit, repository_storage_list, tag_storage_list, vendor_storage

STALE_DAYS = 90
LISTED = 20  # rows per list


@dataclass
class StorageInsight:
    bytes_stored: int
    blobs: int
    quota_bytes: int | None
    quota_percent: int | None
    over_time: list[tuple[datetime.date, int]]
    repositories: list[dict]
    tags: list[dict]
    never_pulled: list[dict]
    stale: list[dict]
    stale_days: int = STALE_DAYS


def storage_insight(*, vendor: Vendor) -> StorageInsight:
    used = vendor_storage(vendor_id=vendor.id)
    quota = quota_limit(vendor_id=vendor.id)
    since = timezone.now().date() - datetime.timedelta(days=STALE_DAYS)
    snapshots = StorageSnapshot.objects.filter(vendor=vendor, day__gte=since).values_list(
        "day", "bytes_stored"
    )
    never, stale = unpulled_tags(vendor=vendor)
    return StorageInsight(
        bytes_stored=used["bytes"],
        blobs=used["blobs"],
        quota_bytes=quota,
        quota_percent=min(100, round(100 * used["bytes"] / quota)) if quota else None,
        over_time=list(snapshots),
        repositories=repository_storage_list(vendor_id=vendor.id, limit=LISTED),
        tags=tag_storage_list(vendor_id=vendor.id, limit=LISTED),
        never_pulled=never[:LISTED],
        stale=stale[:LISTED],
    )


def unpulled_tags(*, vendor: Vendor) -> tuple[list[dict], list[dict]]:
    """Tags never pulled (by name or by their digest), and tags last pulled more than
    STALE_DAYS days ago; oldest pushes first."""
    last = last_pull_days(vendor=vendor)
    cutoff = timezone.now().date() - datetime.timedelta(days=STALE_DAYS)
    never, stale = [], []
    rows = (
        Tag.objects.filter(repository__vendor=vendor)
        .order_by("updated_at", "repository__name", "name")
        .values_list("repository__name", "name", "manifest__digest", "updated_at")
    )
    for repository, tag, digest, pushed in rows:
        days = [d for d in (last.get((repository, tag)), last.get((repository, digest))) if d]
        row = {"repository": repository, "tag": tag, "digest": digest, "pushed_at": pushed}
        if not days:
            never.append(row)
        elif max(days) < cutoff:
            stale.append(row | {"last_pull": max(days)})
    return never, stale
