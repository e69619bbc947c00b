"""Sending: retries after 500s and timeouts on the back-off schedule, the attempt log,
the SSRF rule (refused targets, DNS resolved once), redelivery. Against a real HTTP
receiver on loopback and a real DNS server."""

import time

import pytest
from django.test import override_settings

from customers.services import customer_create
from tests.webhooks.dns_addresses import AddressDnsServer
from tests.webhooks.receiver import Receiver, Reply
from webhooks.delivery import deliveries_due, delivery_attempt, retry_delay
from webhooks.models import WebhookAttempt, WebhookDelivery
from webhooks.services import WebhookError, delivery_redeliver, endpoint_create
from webhooks.targets import address_refused

pytestmark = pytest.mark.django_db


def _event(vendor, slug="initech") -> WebhookDelivery:
    customer_create(vendor=vendor, slug=slug, name=slug.title())
    return WebhookDelivery.objects.filter(event_type="customer.created").latest("id")


def _run_until_done(delivery: WebhookDelivery, timeout: float = 30) -> WebhookDelivery:
    """What the worker does: try whenever due, until delivered or failed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        delivery_attempt(delivery_id=delivery.pk)
        delivery.refresh_from_db()
        if delivery.state in ("delivered", "failed"):
            return delivery
        time.sleep(0.05)
    raise TimeoutError(delivery.state)


def test_a_2xx_is_delivered_and_logged(vendor, endpoint, receiver):
    delivery = _event(vendor)
    assert delivery_attempt(delivery_id=delivery.pk) == "delivered"
    delivery.refresh_from_db()
    assert delivery.attempts == 1 and delivery.last_status_code == 200
    assert delivery.delivered_at is not None and delivery.last_latency_ms is not None
    (attempt,) = delivery.attempt_log.all()
    assert (attempt.number, attempt.status_code, attempt.error) == (1, 200, "")
    assert attempt.address == "127.0.0.1"
    # Delivered means done: a second run (a duplicate task) sends nothing.
    assert delivery_attempt(delivery_id=delivery.pk) is None
    assert len(receiver.received) == 1


def test_500s_are_retried_on_the_schedule_then_delivered(vendor, endpoint, receiver, settings):
    settings.WEBHOOK_RETRY_SCHEDULE_SECONDS = [1, 2, 3]
    receiver.script = [Reply(500), Reply(503)]
    delivery = _event(vendor)
    delivery = _run_until_done(delivery)
    assert delivery.state == "delivered" and delivery.attempts == 3
    arrivals = [r.at for r in receiver.received]
    assert len(arrivals) == 3
    # 1 s after the first failure, 2 s after the second (no jitter in tests).
    assert 0.9 <= arrivals[1] - arrivals[0] < 1.8
    assert 1.9 <= arrivals[2] - arrivals[1] < 2.8
    log = list(delivery.attempt_log.values_list("number", "status_code", "error"))
    assert log == [(1, 500, "HTTP 500"), (2, 503, "HTTP 503"), (3, 200, "")]
    # The same event every time: one webhook-id, one body.
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1
    assert len({r.body for r in receiver.received}) == 1


def test_a_timeout_is_retried_and_the_schedule_ends_in_failure(
    vendor, endpoint, receiver, settings
):
    settings.WEBHOOK_TIMEOUT_SECONDS = 1.0
    settings.WEBHOOK_RETRY_SCHEDULE_SECONDS = [1, 1]
    receiver.default = Reply(200, delay=3)  # always slower than the timeout
    delivery = _event(vendor)
    started = time.monotonic()
    delivery = _run_until_done(delivery)
    assert delivery.state == "failed" and delivery.attempts == 3
    assert len(receiver.received) == 3
    for attempt in delivery.attempt_log.all():
        assert attempt.status_code is None and "timed out" in attempt.error
        assert 900 <= attempt.latency_ms < 2000  # the total timeout held
    assert time.monotonic() - started < 8
    assert deliveries_due() == []


def test_the_default_schedule_retries_for_more_than_a_day():
    from distr import settings as defaults

    schedule = defaults.WEBHOOK_RETRY_SCHEDULE_SECONDS
    assert sum(schedule) >= 24 * 3600
    assert schedule == sorted(schedule)
    with override_settings(WEBHOOK_RETRY_SCHEDULE_SECONDS=schedule, WEBHOOK_RETRY_JITTER=0.2):
        delays = [retry_delay(n) for n in range(1, len(schedule) + 1)]
        assert all(0.8 * s <= d <= 1.2 * s for s, d in zip(schedule, delays, strict=True))
        assert retry_delay(len(schedule) + 1) is None


def test_private_targets_are_refused_without_the_setting(vendor, endpoint, receiver, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    delivery = _event(vendor)
    assert delivery_attempt(delivery_id=delivery.pk) == "failed"  # no retry
    delivery.refresh_from_db()
    assert delivery.attempts == 1 and "127.0.0.1 is loopback" in delivery.last_error
    assert receiver.received == []
    assert deliveries_due() == []


@pytest.mark.parametrize(
    "address, refused",
    [
        ("127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("192.168.0.1", "private"),
        ("172.16.5.4", "private"),
        ("169.254.169.254", "link-local"),  # cloud metadata
        ("0.0.0.0", "unspecified"),  # noqa: S104 - an address under test
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "not globally routable"),  # carrier-grade NAT
        ("::1", "loopback"),
        ("fe80::1", "link-local"),
        ("fd00::1", "private"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped
        ("8.8.8.8", ""),
        ("2606:4700:4700::1111", ""),
    ],
)
def test_the_address_rule(address, refused):
    assert refused in address_refused(address) if refused else address_refused(address) == ""


@pytest.mark.parametrize(
    "url, error",
    [
        ("ftp://example.com/hook", "http:// or https://"),
        ("file:///etc/passwd", "http:// or https://"),
        ("https://user:pw@example.com/hook", "credentials"),
        ("https://token@example.com/hook", "credentials"),
        ("https:///hook", "needs a host"),
        ("https://example.com:99999/", "port"),
    ],
)
def test_registration_refuses_bad_urls(vendor, url, error):
    with pytest.raises(WebhookError, match=error):
        endpoint_create(vendor=vendor, url=url, event_types=["tag.moved"])


def test_dns_is_resolved_once_per_delivery_and_the_answer_is_used(vendor, receiver, settings):
    """First answer 127.0.0.1 (the receiver), every later answer an unroutable address: the
    delivery connects to the first answer and sends the original Host header."""
    with AddressDnsServer() as dns:
        dns.a["hooks.example.test"] = ["127.0.0.1", "192.0.2.1"]
        settings.DISTR_DNS_NAMESERVERS = [dns.address]
        endpoint_create(
            vendor=vendor,
            url=f"http://hooks.example.test:{receiver.port}/in",
            event_types=["customer.created"],
        )
        delivery = _event(vendor)
        assert delivery_attempt(delivery_id=delivery.pk) == "delivered"
        assert dns.a_queries == ["hooks.example.test"]
    (request,) = receiver.received
    assert request.headers["host"] == f"hooks.example.test:{receiver.port}"
    assert request.path == "/in"


def test_a_public_first_answer_does_not_let_a_private_one_through(vendor, receiver, settings):
    """Rebinding the other way round: any private answer refuses the delivery."""
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    with AddressDnsServer() as dns:
        dns.a["rebind.example.test"] = ["127.0.0.1"]
        settings.DISTR_DNS_NAMESERVERS = [dns.address]
        endpoint_create(
            vendor=vendor,
            url=f"http://rebind.example.test:{receiver.port}/",
            event_types=["customer.created"],
        )
        delivery = _event(vendor)
        assert delivery_attempt(delivery_id=delivery.pk) == "failed"
    assert receiver.received == []


def test_redeliver_sends_the_same_event_again(vendor, endpoint, receiver):
    delivery = _event(vendor)
    delivery_attempt(delivery_id=delivery.pk)
    assert delivery_redeliver(delivery=delivery)
    assert delivery_attempt(delivery_id=delivery.pk) == "delivered"
    first, second = receiver.wait_for(2)
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.body == second.body
    assert WebhookAttempt.objects.filter(delivery=delivery).count() == 2


def test_a_connection_refused_is_retried(vendor, settings):
    with Receiver() as gone:
        url = gone.url
    endpoint_create(vendor=vendor, url=url, event_types=["customer.created"])
    delivery = _event(vendor)
    assert delivery_attempt(delivery_id=delivery.pk) == "pending"
    delivery.refresh_from_db()
    assert "connect failed" in delivery.last_error and delivery.next_attempt_at is not None
