"""Celery entry points for webhooks. The rules are in webhooks/delivery.py and
webhooks/services.py; these load by id and call them."""

from celery import shared_task

from webhooks.delivery import deliveries_due, deliveries_enqueue, delivery_attempt
from webhooks.services import license_notices_emit


# acks_late: a worker killed mid-delivery leaves the message for another worker. The
# claim in delivery_attempt makes a second run harmless, and the beat sweep below sends
# anything a lost message would have (docs/webhooks.md, "Guarantees").
@shared_task(name="webhooks.tasks.delivery_send", ignore_result=True, acks_late=True)
def delivery_send(delivery_id: int) -> str | None:
    return delivery_attempt(delivery_id=delivery_id)


@shared_task(name="webhooks.tasks.deliveries_send_due", ignore_result=True)
def deliveries_send_due() -> int:
    """Due retries, deliveries whose worker died (lease expired), and any whose message
    never reached the broker."""
    due = deliveries_due()
    deliveries_enqueue(due)
    return len(due)


@shared_task(name="webhooks.tasks.license_notices", ignore_result=True)
def license_notices() -> int:
    return license_notices_emit()
