"""Webhook writes: endpoints (each change audited in its transaction), events into the
outbox, redelivery and test events, and the license clock. The console calls these; an
API view can call the same functions (they take the vendor and the acting user, never a
request)."""

import datetime
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from customers.models import AuditEvent, Vendor
from customers.services import audit_record
from licensing.models import License
from webhooks.events import EVENT_TYPES, TEST_EVENT, TYPE_PREFIX, license_event_data
from webhooks.models import LicenseNotice, WebhookDelivery, WebhookEndpoint
from webhooks.signing import secret_generate
from webhooks.targets import TargetInvalid, target_parse

SECRET_OVERLAP = datetime.timedelta(hours=24)  # a rotated-out secret still signs this long


class WebhookError(ValueError):
    """Bad input for a webhook operation (message is safe to show)."""


@dataclass(frozen=True)
class EndpointWithSecret:
    endpoint: WebhookEndpoint
    secret: str  # shown once: at creation or rotation


def _actor(user) -> str:
    return f"user:{user.pk}" if user is not None else ""


def _clean(url: str, event_types: list[str]) -> tuple[str, list[str]]:
    try:
        target_parse(url)
    except TargetInvalid as error:
        raise WebhookError(str(error)) from None
    if len(url) > 2000:
        raise WebhookError("the URL is too long")
    unknown = set(event_types) - set(EVENT_TYPES)
    if unknown:
        raise WebhookError(f"unknown event type(s): {', '.join(sorted(unknown))}")
    if not event_types:
        raise WebhookError("choose at least one event type")
    return url.strip(), sorted(set(event_types))


def _audit(endpoint: WebhookEndpoint, action: str, user, **details) -> None:
    # The host only: receivers often carry a token in the URL's path or query, and the
    # audit log is open to every staff role.
    audit_record(
        vendor=endpoint.vendor,
        action=action,
        actor=_actor(user),
        target=f"webhook:{endpoint.pk}",
        details={"host": target_parse(endpoint.url).host, **details},
    )


def endpoint_create(
    *, vendor: Vendor, url: str, event_types: list[str], description: str = "", created_by=None
) -> EndpointWithSecret:
    url, event_types = _clean(url, event_types)
    secret = secret_generate()
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.create(
            vendor=vendor,
            url=url,
            description=description.strip()[:200],
            secret=secret,
            event_types=event_types,
            created_by=created_by,
        )
        _audit(endpoint, AuditEvent.Action.WEBHOOK_CREATED, created_by, event_types=event_types)
    return EndpointWithSecret(endpoint=endpoint, secret=secret)


def endpoint_update(
    *,
    endpoint: WebhookEndpoint,
    url: str,
    event_types: list[str],
    description: str = "",
    updated_by=None,
) -> WebhookEndpoint:
    url, event_types = _clean(url, event_types)
    with transaction.atomic():
        endpoint.url, endpoint.event_types = url, event_types
        endpoint.description = description.strip()[:200]
        endpoint.save(update_fields=["url", "event_types", "description", "updated_at"])
        _audit(endpoint, AuditEvent.Action.WEBHOOK_UPDATED, updated_by, event_types=event_types)
    return endpoint


def endpoint_set_enabled(*, endpoint: WebhookEndpoint, enabled: bool, changed_by=None) -> None:
    with transaction.atomic():
        changed = WebhookEndpoint.objects.filter(pk=endpoint.pk).exclude(enabled=enabled)
        if changed.update(enabled=enabled, updated_at=timezone.now()):
            endpoint.enabled = enabled
            _audit(endpoint, AuditEvent.Action.WEBHOOK_UPDATED, changed_by, enabled=enabled)


def endpoint_rotate_secret(*, endpoint: WebhookEndpoint, rotated_by=None) -> EndpointWithSecret:
    """A new secret signs from now on; the old one also signs for SECRET_OVERLAP, so the
    receiver can switch without rejecting deliveries in between."""
    secret = secret_generate()
    with transaction.atomic():
        current = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        endpoint.previous_secret = current.secret
        endpoint.previous_secret_expires_at = timezone.now() + SECRET_OVERLAP
        endpoint.secret = secret
        endpoint.save(
            update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"]
        )
        _audit(endpoint, AuditEvent.Action.WEBHOOK_UPDATED, rotated_by, change="secret rotated")
    return EndpointWithSecret(endpoint=endpoint, secret=secret)


def endpoint_delete(*, endpoint: WebhookEndpoint, deleted_by=None) -> None:
    with transaction.atomic():
        _audit(endpoint, AuditEvent.Action.WEBHOOK_DELETED, deleted_by)
        endpoint.delete()  # its deliveries and attempts with it


# --- the outbox -------------------------------------------------------------------------


def vendor_has_endpoints(*, vendor_id: int) -> bool:
    return WebhookEndpoint.objects.filter(vendor_id=vendor_id, enabled=True).exists()


def cloudevent(
    *, vendor: Vendor, event_id: str, event_type: str, subject: str, data: dict, time
) -> dict:
    """A CloudEvents 1.0 event in the structured JSON format."""
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": f"{settings.DISTR_PUBLIC_URL}/vendors/{vendor.slug}",
        "type": TYPE_PREFIX + event_type,
        "subject": subject,
        "time": time.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z"),
        "datacontenttype": "application/json",
        "data": data,
    }


def event_id_new() -> str:
    return f"msg_{uuid.uuid4().hex}"


def event_emit(
    *, vendor: Vendor, event_type: str, subject: str, data: dict, time=None
) -> list[WebhookDelivery]:
    """One delivery per enabled endpoint of `vendor` subscribed to `event_type`, written
    in the caller's transaction; sending starts after it commits (nothing is sent for a
    change that rolls back)."""
    endpoints = [
        e
        for e in WebhookEndpoint.objects.filter(vendor=vendor, enabled=True)
        if event_type in e.event_types
    ]
    if not endpoints:
        return []
    return _deliveries_create(
        vendor=vendor,
        endpoints=endpoints,
        event_type=event_type,
        subject=subject,
        data=data,
        time=time or timezone.now(),
    )


def _deliveries_create(*, vendor, endpoints, event_type, subject, data, time):
    from webhooks.delivery import deliveries_enqueue_on_commit

    event_id = event_id_new()
    payload = cloudevent(
        vendor=vendor,
        event_id=event_id,
        event_type=event_type,
        subject=subject,
        data=data,
        time=time,
    )
    now = timezone.now()
    with transaction.atomic():
        deliveries = WebhookDelivery.objects.bulk_create(
            [
                WebhookDelivery(
                    endpoint=endpoint,
                    event_id=event_id,
                    event_type=event_type,
                    payload=payload,
                    next_attempt_at=now,
                )
                for endpoint in endpoints
            ]
        )
        if deliveries[0].pk is None:  # backends without RETURNING on bulk insert
            deliveries = list(WebhookDelivery.objects.filter(event_id=event_id))
        deliveries_enqueue_on_commit([d.pk for d in deliveries])
    return deliveries


def endpoint_test_send(*, endpoint: WebhookEndpoint, sent_by=None) -> WebhookDelivery:
    """A `dev.distr.webhook.test` event to this endpoint only (enabled or not)."""
    return _deliveries_create(
        vendor=endpoint.vendor,
        endpoints=[endpoint],
        event_type=TEST_EVENT,
        subject=f"webhook:{endpoint.pk}",
        data={"message": "A test event from the distr console.", "actor": _actor(sent_by)},
        time=timezone.now(),
    )[0]


def delivery_redeliver(*, delivery: WebhookDelivery) -> bool:
    """Send a finished delivery again, as it was (same webhook-id: a receiver that
    already processed it may drop it). False while it is still being tried."""
    from webhooks.delivery import deliveries_enqueue_on_commit

    with transaction.atomic():
        updated = (
            WebhookDelivery.objects.filter(pk=delivery.pk)
            .exclude(state__in=[WebhookDelivery.State.PENDING, WebhookDelivery.State.SENDING])
            .update(state=WebhookDelivery.State.PENDING, next_attempt_at=timezone.now())
        )
        if updated:
            deliveries_enqueue_on_commit([delivery.pk])
    return bool(updated)


# --- the license clock ------------------------------------------------------------------


def _notice_due(days_left: int) -> tuple[str, list[str]] | None:
    """The notice to send for a license ending in `days_left` days (0: today is its last
    day), and every kind that counts as sent with it (a license created 5 days before its
    end gets the 7-day notice, never the 30-day one afterwards)."""
    if days_left < 0:
        return "expired", ["expired"]
    thresholds = sorted(d for d in settings.WEBHOOK_LICENSE_EXPIRING_DAYS if days_left <= d)
    if not thresholds:
        return None
    return f"expiring-{thresholds[0]}", [f"expiring-{d}" for d in thresholds]


def license_notices_emit(*, today: datetime.date | None = None) -> int:
    """license.expiring (each threshold once) and license.expired, for active licenses.
    Licenses that ended more than WEBHOOK_LICENSE_EXPIRED_LOOKBACK_DAYS ago are left
    alone (no burst of old news when webhooks are first set up). Returns events emitted."""
    today = today or timezone.localdate()
    horizon = max(settings.WEBHOOK_LICENSE_EXPIRING_DAYS, default=0)
    licenses = License.objects.select_related("customer", "vendor").filter(
        status=License.Status.ACTIVE,
        valid_until__isnull=False,
        valid_until__lte=today + datetime.timedelta(days=horizon),
        valid_until__gte=today
        - datetime.timedelta(days=settings.WEBHOOK_LICENSE_EXPIRED_LOOKBACK_DAYS),
    )
    emitted = 0
    for license in licenses.iterator(chunk_size=500):
        due = _notice_due((license.valid_until - today).days)
        if due is None:
            continue
        kind, kinds = due
        with transaction.atomic():
            notice, created = LicenseNotice.objects.get_or_create(
                license=license, kind=kind, valid_until=license.valid_until
            )
            if not created:
                continue
            LicenseNotice.objects.bulk_create(
                [
                    LicenseNotice(license=license, kind=k, valid_until=license.valid_until)
                    for k in kinds
                    if k != kind
                ],
                ignore_conflicts=True,
            )
            data = license_event_data(license)
            if kind == "expired":
                event_type = "license.expired"
            else:
                event_type = "license.expiring"
                data["daysLeft"] = (license.valid_until - today).days
                data["notice"] = int(kind.removeprefix("expiring-"))
            if event_emit(
                vendor=license.vendor,
                event_type=event_type,
                subject=f"license:{license.pk}",
                data=data,
            ):
                emitted += 1
    return emitted
