"""Without a broker (the embedded default), a committed change's deliveries are sent from a
background thread of the process that made it, and short retries follow in-process."""

import time

import pytest

from customers.services import customer_create
from tests.webhooks.receiver import Reply
from webhooks.models import WebhookDelivery

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_committed_change_is_sent_in_the_background(vendor, endpoint, receiver, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.WEBHOOK_SEND_ON_COMMIT = True
    receiver.script = [Reply(500)]
    customer_create(vendor=vendor, slug="initech")
    first, second = receiver.wait_for(2, timeout=20)
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert 0.9 <= second.at - first.at < 3  # the 1 s retry of the test schedule
    delivery = WebhookDelivery.objects.get()
    for _ in range(100):
        delivery.refresh_from_db()
        if delivery.state == "delivered":
            break
        time.sleep(0.05)
    assert delivery.state == "delivered" and delivery.attempts == 2
