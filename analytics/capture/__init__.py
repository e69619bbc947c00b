"""Record a pull: the one function the registry calls on a successful manifest GET.

One XADD to the Redis stream (approximately capped at ANALYTICS_STREAM_MAXLEN). When Redis
is unreachable, or not configured (the embedded default), the event is one INSERT into the
database outbox instead, and the next ingestion pass takes it from there (Celery beat, or
analytics.capture.embedded without a broker). Nothing here may fail or noticeably slow the pull.
"""

import logging

from django.conf import settings
from django.utils import timezone

from analytics.capture import stream
from analytics.capture.embedded import ingester_ensure_started
from analytics.capture.events import pull_fields
from analytics.capture.outbox_buffer import buffer as outbox_buffer
from analytics.models import PullEventOutbox

logger = logging.getLogger(__name__)


def pull_record(*, request, repository_name: str, reference: str, digest: str, index: bool) -> None:
    """`index`: the manifest served is an image index (manifest list). Which GETs count as
    pulls is decided at ingestion from that and the reference (docs/analytics.md)."""
    if not settings.ANALYTICS_CAPTURE_ENABLED:
        return
    try:
        _write(_fields(request, repository_name, reference, digest, index))
    except Exception:  # a lost analytics event must never turn into a failed pull
        logger.exception("pull event for %s@%s not recorded", repository_name, reference)


KIT_USER_AGENT = "distr-kit/"  # + the kit id: how a kit download shows among pulls


def kit_pulls_record(
    *,
    vendor_slug: str,
    customer_id: int,
    kit_id: str,
    images: list[dict],
    client_address: str | None,
) -> None:
    """A kit download started: one pull of each image it holds (reference = its tag), so
    version adoption counts air-gapped customers. `images`: repository, tag, digest,
    media_type (kit.images)."""
    if not settings.ANALYTICS_CAPTURE_ENABLED:
        return
    now = timezone.now()
    try:
        for image in images:
            _write(
                pull_fields(
                    vendor_slug=vendor_slug,
                    customer_id=customer_id,
                    token_prefix="",
                    repository=image["repository"],
                    reference=image["tag"],
                    digest=image["digest"],
                    client_address=client_address,
                    user_agent=f"{KIT_USER_AGENT}{kit_id}",
                    occurred_at=now,
                    index="index" in image["media_type"] or "list" in image["media_type"],
                )
            )
    except Exception:  # analytics must never fail a download
        logger.exception("kit %s: pull events not recorded", kit_id)


def _write(fields: dict[str, str]) -> None:
    if not stream.analytics_redis_enabled():
        if settings.ANALYTICS_OUTBOX_BUFFER_SECONDS > 0:
            outbox_buffer.add(fields)  # batched: SQLite has one writer at a time
        else:
            _outbox_write(fields)
        ingester_ensure_started()
    elif not _append(fields):
        _outbox_write(fields)


def _fields(
    request, repository_name: str, reference: str, digest: str, index: bool
) -> dict[str, str]:
    principal = request.principal
    namespace = repository_name.split("/", 1)[0]
    # Another vendor's customer pulling a public repository is anonymous to this vendor.
    own = not principal.is_anonymous and principal.vendor_slug == namespace
    return pull_fields(
        vendor_slug=namespace,
        customer_id=principal.customer_id if own else None,
        token_prefix=principal.token_prefix if own else "",
        repository=repository_name,
        reference=reference,
        digest=digest,
        client_address=request.META.get("REMOTE_ADDR"),
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
        occurred_at=timezone.now(),
        index=index,
    )


def _append(fields: dict[str, str]) -> bool:
    breaker = stream.capture_breaker
    if not breaker.allows():
        return False
    try:
        stream.capture_client().xadd(
            stream.stream_key(),
            fields,
            maxlen=settings.ANALYTICS_STREAM_MAXLEN,
            approximate=True,
        )
    except Exception as exc:  # noqa: BLE001 - any Redis trouble means: use the database
        breaker.trip(settings.ANALYTICS_REDIS_RETRY_SECONDS)
        logger.warning("analytics: Redis unreachable (%s); writing pull events to the DB", exc)
        return False
    return True


def _outbox_write(fields: dict[str, str]) -> None:
    PullEventOutbox.objects.create(payload=fields)
