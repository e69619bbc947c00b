"""Sending one delivery: claim it, sign and POST it, record the answer.

State changes are conditional updates, each in its own short transaction, and no
transaction is open while the request is in flight:

1. claim: `pending` and due, or `sending` with an expired lease (the worker that held it
   died) → `sending` with a lease of WEBHOOK_TIMEOUT_SECONDS + WEBHOOK_LEASE_MARGIN_SECONDS,
   attempts + 1, and an attempt row opened. Only one worker wins a claim.
2. send (outside any transaction).
3. record: the attempt row gets its answer; the delivery becomes `delivered` (2xx),
   `failed` (refused target, or the back-off schedule is used up) or `pending` again with
   `next_attempt_at` set by WEBHOOK_RETRY_SCHEDULE_SECONDS (with jitter).

So a delivery recorded `delivered` is never sent again (except by an explicit
redeliver). A worker killed between 2 and 3 leaves the delivery `sending`; once its lease
expires it is claimed and sent again: the receiver may see one webhook-id twice, never a
recorded delivery resent. That is at-least-once; receivers dedupe on webhook-id
(docs/webhooks.md)."""

import datetime
import json
import logging
import random
import threading
import time

from django.conf import settings
from django.db import close_old_connections, transaction
from django.db.models import F, Q
from django.utils import timezone

from webhooks.models import WebhookAttempt, WebhookDelivery
from webhooks.signing import signature_header
from webhooks.targets import (
    TargetInvalid,
    TargetRefused,
    TransportError,
    addresses_checked,
    send,
    target_parse,
)

logger = logging.getLogger(__name__)
State = WebhookDelivery.State
LOST = "worker lost before the answer was recorded"
USER_AGENT = "distr-webhooks/1"


def body_of(payload: dict) -> str:
    """The bytes sent (and signed): the same for every attempt of a delivery."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


def signing_secrets(endpoint, now) -> list[str]:
    keys = [endpoint.secret]
    if endpoint.previous_secret and (
        endpoint.previous_secret_expires_at and endpoint.previous_secret_expires_at > now
    ):
        keys.append(endpoint.previous_secret)
    return keys


def retry_delay(attempts: int) -> float | None:
    """Seconds before the next try after `attempts` tries, or None: give up."""
    schedule = settings.WEBHOOK_RETRY_SCHEDULE_SECONDS
    if attempts > len(schedule):
        return None
    base = float(schedule[attempts - 1])
    jitter = settings.WEBHOOK_RETRY_JITTER
    return base * random.uniform(1 - jitter, 1 + jitter)  # noqa: S311 - not a secret


def _claim(delivery_id: int):
    now = timezone.now()
    lease = now + datetime.timedelta(
        seconds=settings.WEBHOOK_TIMEOUT_SECONDS + settings.WEBHOOK_LEASE_MARGIN_SECONDS
    )
    with transaction.atomic():
        claimed = (
            WebhookDelivery.objects.filter(pk=delivery_id)
            .filter(
                Q(state=State.PENDING, next_attempt_at__lte=now)
                | Q(state=State.SENDING, lease_until__lt=now)
            )
            .update(state=State.SENDING, lease_until=lease, attempts=F("attempts") + 1)
        )
        if not claimed:
            return None, None
        delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
        WebhookAttempt.objects.filter(delivery=delivery, finished_at__isnull=True).update(
            finished_at=now, error=LOST
        )
        attempt = WebhookAttempt.objects.create(
            delivery=delivery, number=delivery.attempts, started_at=now
        )
    return delivery, attempt


def delivery_attempt(*, delivery_id: int) -> str | None:
    """Try one delivery once, if it is due and no one else holds it. Returns the state
    recorded (None: nothing to do)."""
    delivery, attempt = _claim(delivery_id)
    if delivery is None:
        return None
    endpoint = delivery.endpoint
    status, excerpt, address, error, retry = None, "", "", "", True
    started = time.monotonic()
    if not endpoint.enabled and delivery.event_type != "webhook.test":
        error, retry = "endpoint disabled", False
    else:
        now = timezone.now()
        msg_timestamp = int(now.timestamp())
        body = body_of(delivery.payload)
        headers = {
            "Content-Type": "application/cloudevents+json; charset=utf-8",
            "User-Agent": USER_AGENT,
            "webhook-id": delivery.event_id,
            "webhook-timestamp": str(msg_timestamp),
            "webhook-signature": signature_header(
                secrets_=signing_secrets(endpoint, now),
                msg_id=delivery.event_id,
                timestamp=msg_timestamp,
                body=body,
            ),
        }
        try:
            target = target_parse(endpoint.url)
            addresses = addresses_checked(target)
            _test_pause()
            answer = send(target=target, addresses=addresses, body=body.encode(), headers=headers)
        except (TargetInvalid, TargetRefused) as refused:
            error, retry = str(refused), False
        except TransportError as failure:
            error = str(failure)
        else:
            status, excerpt, address = answer.status, answer.excerpt, answer.address
            if not 200 <= status < 300:
                error = f"HTTP {status}"
    latency_ms = int((time.monotonic() - started) * 1000)
    return _record(delivery, attempt, status, excerpt, address, error, retry, latency_ms)


def _record(delivery, attempt, status, excerpt, address, error, retry, latency_ms):
    now = timezone.now()
    ok = status is not None and 200 <= status < 300
    delay = None
    if ok:
        fields = {"state": State.DELIVERED, "delivered_at": now, "next_attempt_at": None}
    elif retry and (delay := retry_delay(delivery.attempts)) is not None:
        fields = {
            "state": State.PENDING,
            "next_attempt_at": now + datetime.timedelta(seconds=delay),
        }
    else:
        fields = {"state": State.FAILED, "next_attempt_at": None}
    with transaction.atomic():
        WebhookAttempt.objects.filter(pk=attempt.pk).update(
            finished_at=now,
            status_code=status,
            latency_ms=latency_ms,
            error=error[:500],
            response_excerpt=excerpt[:500],
            address=address,
        )
        mine = WebhookDelivery.objects.filter(
            pk=delivery.pk, state=State.SENDING, attempts=delivery.attempts
        )
        if not mine.exists() and ok:
            # Our lease ran out and another worker holds it: a 2xx still counts.
            mine = WebhookDelivery.objects.filter(
                pk=delivery.pk, state__in=[State.PENDING, State.SENDING]
            )
        elif not mine.exists():
            return None
        mine.update(
            lease_until=None,
            last_status_code=status,
            last_error=error[:500],
            last_latency_ms=latency_ms,
            **fields,
        )
        if delay is not None and delay <= settings.WEBHOOK_DIRECT_RETRY_MAX_SECONDS:
            deliveries_enqueue_on_commit([delivery.pk], countdown=delay)
    logger.info(
        "webhook %s to endpoint %s attempt %s: %s",
        delivery.event_id,
        delivery.endpoint_id,
        delivery.attempts,
        fields["state"] if not error else f"{fields['state']} ({error})",
    )
    return fields["state"]


def _test_pause() -> None:
    if settings.WEBHOOK_TEST_PAUSE_SECONDS:  # crash tests only: hold a claimed delivery
        time.sleep(settings.WEBHOOK_TEST_PAUSE_SECONDS)


# --- enqueueing -------------------------------------------------------------------------


def deliveries_enqueue_on_commit(delivery_ids: list[int], *, countdown: float = 0) -> None:
    if not settings.WEBHOOK_SEND_ON_COMMIT or not delivery_ids:
        return
    transaction.on_commit(lambda: deliveries_enqueue(delivery_ids, countdown=countdown))


def deliveries_enqueue(delivery_ids: list[int], *, countdown: float = 0) -> None:
    """Hand deliveries to Celery; without a broker (embedded mode), to a background
    thread of this process. A failure here loses nothing: the beat task
    `deliveries_send_due` finds every due delivery in the database."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        timer = threading.Timer(countdown, _send_in_thread, [list(delivery_ids)])
        timer.daemon = True
        timer.start()
        return
    from webhooks.tasks import delivery_send

    for delivery_id in delivery_ids:
        try:
            delivery_send.apply_async(args=[delivery_id], countdown=countdown or None)
        except Exception:  # the broker is down: the beat sweep sends it later
            logger.warning("webhook delivery %s not enqueued", delivery_id, exc_info=True)


def _send_in_thread(delivery_ids: list[int]) -> None:
    try:
        for delivery_id in delivery_ids:
            delivery_attempt(delivery_id=delivery_id)
    except Exception:
        logger.exception("webhook deliveries %s", delivery_ids)
    finally:
        close_old_connections()


def deliveries_due(*, limit: int = 500) -> list[int]:
    now = timezone.now()
    return list(
        WebhookDelivery.objects.filter(
            Q(state=State.PENDING, next_attempt_at__lte=now)
            | Q(state=State.SENDING, lease_until__lt=now)
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
