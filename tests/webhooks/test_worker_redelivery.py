"""On real processes: a Celery worker on the real Redis sends the deliveries to a real
receiver. Retries after 500s go through the worker's own countdowns; a worker killed
(SIGKILL) after sending and before recording the answer leads to exactly one more send
of that delivery, by the next worker once the lease expires, with the same webhook-id,
and never to a resend of what was recorded delivered (docs/webhooks.md, "Guarantees")."""

import threading
import time
import uuid

import pytest
import redis

from customers.services import customer_create
from tests.analytics.conftest import redis_url
from tests.analytics.worker import CeleryWorker
from tests.webhooks.receiver import Reply
from webhooks.delivery import LOST
from webhooks.models import WebhookDelivery

pytestmark = pytest.mark.django_db(transaction=True)

SEND = "webhooks.tasks.delivery_send"
SWEEP = "webhooks.tasks.deliveries_send_due"


@pytest.fixture
def workers():
    queue = f"test-webhooks-{uuid.uuid4().hex[:8]}"
    started: list[CeleryWorker] = []

    def start() -> CeleryWorker:
        worker = CeleryWorker(
            broker_url=redis_url(),
            queue=queue,
            name=f"wh{len(started)}",
            env={
                "WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
                "WEBHOOK_TIMEOUT_SECONDS": "3",
                "WEBHOOK_CONNECT_TIMEOUT_SECONDS": "1",
                "WEBHOOK_LEASE_MARGIN_SECONDS": "1",
                "WEBHOOK_RETRY_SCHEDULE_SECONDS": "1,2",
                "WEBHOOK_RETRY_JITTER": "0",
            },
        )
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()
    redis.Redis.from_url(redis_url()).delete(queue)


def _wait_state(delivery: WebhookDelivery, state: str, timeout: float = 30) -> WebhookDelivery:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        delivery.refresh_from_db()
        if delivery.state == state:
            return delivery
        time.sleep(0.1)
    raise TimeoutError(f"delivery {delivery.pk} is {delivery.state}, not {state}")


def test_the_worker_retries_500s_with_back_off(vendor, endpoint, receiver, workers):
    worker = workers()
    receiver.script = [Reply(500), Reply(500)]
    customer_create(vendor=vendor, slug="initech")
    delivery = WebhookDelivery.objects.get()
    worker.app.send_task(SEND, args=[delivery.pk], queue=worker.queue)
    delivery = _wait_state(delivery, "delivered")
    arrivals = [r.at for r in receiver.wait_for(3)]
    assert 0.9 <= arrivals[1] - arrivals[0] < 2.5
    assert 1.9 <= arrivals[2] - arrivals[1] < 3.5
    assert list(delivery.attempt_log.values_list("status_code", flat=True)) == [500, 500, 200]


def test_a_worker_killed_mid_delivery_sends_only_the_unrecorded_delivery_again(
    vendor, endpoint, receiver, workers
):
    worker = workers()
    customer_create(vendor=vendor, slug="first")
    customer_create(vendor=vendor, slug="second")
    first, second = WebhookDelivery.objects.order_by("id")

    # The first is delivered and recorded.
    worker.app.send_task(SEND, args=[first.pk], queue=worker.queue)
    _wait_state(first, "delivered")

    # The second reaches the receiver, which holds the answer; the worker dies then.
    gate = threading.Event()
    receiver.script = [Reply(200, hold=gate)]
    worker.app.send_task(SEND, args=[second.pk], queue=worker.queue)
    receiver.wait_for(2)
    worker.kill()
    gate.set()
    second.refresh_from_db()
    assert second.state == "sending" and second.attempts == 1  # sent, not recorded

    # A second worker: the sweep runs every second (as beat would); until the lease
    # expires it finds nothing to claim, then it sends the second delivery once more.
    worker = workers()
    deadline = time.monotonic() + 30
    while second.state != "delivered" and time.monotonic() < deadline:
        worker.app.send_task(SWEEP, queue=worker.queue)
        time.sleep(1)
        second.refresh_from_db()
    assert second.state == "delivered"
    for _ in range(3):  # and nothing is sent after that
        worker.app.send_task(SWEEP, queue=worker.queue)
    time.sleep(2)

    requests = receiver.received
    ids = [r.headers["webhook-id"] for r in requests]
    assert ids == [first.event_id, second.event_id, second.event_id]
    assert requests[1].body == requests[2].body  # the same event, signed afresh
    first.refresh_from_db()
    assert first.attempts == 1
    log = list(second.attempt_log.values_list("number", "status_code", "error"))
    assert log == [(1, None, LOST), (2, 200, "")]
    # One recorded success per webhook-id.
    delivered = WebhookDelivery.objects.filter(state="delivered")
    assert sorted(delivered.values_list("event_id", flat=True)) == sorted(
        [first.event_id, second.event_id]
    )
