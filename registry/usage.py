"""Storage used, per vendor and per repository, and the vendor's quota.

Counted by recomputation from the content graph, never by a counter that could drift:
a blob counts once for a vendor however many of its repositories link it (it is stored
once), plus the bytes of uploads in progress (already in storage). Per repository,
`linked` is every blob it links and `attributable` the blobs no other repository of the
vendor links (what deleting the repository would free). See docs/registry.md, "Quotas"."""

import time

from django.core.cache import cache
from django.db.models import Case, Count, Exists, F, OuterRef, Subquery, Sum, When
from django.db.models.functions import Coalesce

from customers.models import AuditEvent
from customers.services import audit_record
from registry.errors import QuotaExceeded
from registry.models import (
    Blob,
    ManifestReference,
    Repository,
    RepositoryBlob,
    StorageQuota,
    Tag,
    Upload,
)

QUOTA_AUDIT_WINDOW_SECONDS = 60  # one refusal row per vendor and minute


def vendor_storage(*, vendor_id: int) -> dict:
    """{"bytes": stored blob bytes + uploads in progress, "blobs": distinct blobs}."""
    linked = RepositoryBlob.objects.filter(repository__vendor_id=vendor_id).values("blob_id")
    blobs = Blob.objects.filter(digest__in=linked).aggregate(
        n=Count("digest"), b=Coalesce(Sum("size"), 0)
    )
    uploading = Upload.objects.filter(repository__vendor_id=vendor_id).aggregate(
        b=Coalesce(Sum("size"), 0)
    )
    return {"bytes": blobs["b"] + uploading["b"], "blobs": blobs["n"]}


def repository_storage_list(*, vendor_id: int, limit: int | None = None) -> list[dict]:
    """Per repository, largest attributable first: name, linked and attributable bytes."""
    elsewhere = RepositoryBlob.objects.filter(
        repository__vendor_id=vendor_id, blob_id=OuterRef("blob_id")
    ).exclude(repository_id=OuterRef("repository_id"))
    rows = (
        RepositoryBlob.objects.filter(repository__vendor_id=vendor_id)
        .annotate(shared=Exists(elsewhere))
        .values("repository__name")
        .annotate(
            linked=Sum("blob__size"),
            attributable=Coalesce(
                Sum(Case(When(shared=False, then=F("blob__size")), default=0)), 0
            ),
            blobs=Count("blob_id"),
        )
        .order_by("-attributable", "-linked", "repository__name")
    )
    rows = rows[:limit] if limit else rows
    return [
        {
            "repository": r["repository__name"],
            "linked": r["linked"],
            "attributable": r["attributable"],
            "blobs": r["blobs"],
        }
        for r in rows
    ]


def tag_storage_list(*, vendor_id: int, limit: int = 20) -> list[dict]:
    """The largest tags: the bytes of the blobs their manifest references directly (for an
    index, its own size only: children are counted under their own tags)."""
    blob_bytes = (
        ManifestReference.objects.filter(manifest=OuterRef("manifest_id"), blob__isnull=False)
        .order_by()
        .values("manifest")
        .annotate(b=Sum("blob__size"))
        .values("b")
    )
    rows = (
        Tag.objects.filter(repository__vendor_id=vendor_id)
        .annotate(size=Coalesce(Subquery(blob_bytes), 0) + F("manifest__size"))
        .order_by("-size", "repository__name", "name")
        .values("repository__name", "name", "manifest__digest", "size")[:limit]
    )
    return [
        {
            "repository": r["repository__name"],
            "tag": r["name"],
            "digest": r["manifest__digest"],
            "size": r["size"],
        }
        for r in rows
    ]


def quota_limit(*, vendor_id: int) -> int | None:
    return (
        StorageQuota.objects.filter(vendor_id=vendor_id)
        .values_list("limit_bytes", flat=True)
        .first()
    )


# The quota check's bound (below): recounted exactly at least this often.
QUOTA_RECOUNT_SECONDS = 10


def quota_refuse_if_over(*, repository: Repository, incoming: int, actor: str = "") -> None:
    """Refuse (QuotaExceeded, audited) when the vendor's stored bytes plus `incoming` would
    pass its quota. No quota: one indexed query and nothing else.

    Recounting a large vendor's usage costs a scan of its blob links, too much for every
    request of every push. So the shared cache holds the last exact count (for at most
    QUOTA_RECOUNT_SECONDS) plus the bytes admitted since: while that upper bound leaves
    room, the request goes ahead without a recount; when it does not, usage is recounted
    exactly and decides. A refusal is therefore always decided on the exact figure."""
    limit = quota_limit(vendor_id=repository.vendor_id)
    if limit is None:
        return
    window = int(time.time()) // QUOTA_RECOUNT_SECONDS
    base_key = f"registry:usage:{repository.vendor_id}:{window}"
    admitted_key = f"{base_key}:admitted"
    base = cache.get(base_key)
    if base is not None and base + (cache.get(admitted_key) or 0) + incoming <= limit:
        _admit(admitted_key, incoming)
        return
    used = vendor_storage(vendor_id=repository.vendor_id)["bytes"]
    cache.set_many({base_key: used, admitted_key: 0}, QUOTA_RECOUNT_SECONDS * 2)
    if used + incoming <= limit:
        _admit(admitted_key, incoming)
        return
    error = QuotaExceeded(
        f"storage quota of {repository.vendor.slug} exceeded: {used} of {limit} bytes used, "
        f"this request would add {incoming}; delete content or ask for a larger quota",
        detail={"used": used, "limit": limit, "incoming": incoming},
    )
    _refusal_record(repository, error, actor)
    raise error


def _admit(key: str, incoming: int) -> None:
    if not incoming:
        return
    try:
        cache.incr(key, incoming)
    except ValueError:  # expired meanwhile: the next check recounts anyway
        pass


def _refusal_record(repository: Repository, error: QuotaExceeded, actor: str) -> None:
    minute = int(time.time()) // QUOTA_AUDIT_WINDOW_SECONDS
    if not cache.add(
        f"registry:quota-refused:{repository.vendor_id}:{minute}", 1, QUOTA_AUDIT_WINDOW_SECONDS * 2
    ):
        return
    audit_record(
        vendor=repository.vendor,
        action=AuditEvent.Action.QUOTA_REFUSED,
        actor=actor,
        target=repository.name,
        details={**error.detail, "repository": repository.name},
    )
