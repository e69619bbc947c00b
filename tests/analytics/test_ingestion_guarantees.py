"""Ingestion never double counts: re-delivery after a commit, pending entries of a dead
consumer, the circuit breaker, malformed entries, retention."""

import datetime

from django.utils import timezone

from analytics.capture import stream
from analytics.capture.events import pull_fields, pull_from_fields
from analytics.ingestion import ingest_pass, pull_events_store
from analytics.models import PullEvent, PullRollup, PullRollupMember
from analytics.retention import pull_events_prune
from tests.analytics.conftest import pull_client


def _append(client, settings, n: int, *, customer, prefix="distr_pull_abc", address="10.1.1.1"):
    for _ in range(n):
        client.xadd(
            settings.ANALYTICS_STREAM,
            pull_fields(
                vendor_slug="acme",
                customer_id=customer.id,
                token_prefix=prefix,
                repository="acme/app",
                reference="1.0",
                digest="sha256:" + "a" * 64,
                client_address=address,
                user_agent="test",
                occurred_at=timezone.now(),
            ),
        )


def _totals():
    rollup = PullRollup.objects.get()
    return rollup.pulls, rollup.distinct_tokens, rollup.distinct_addresses


def test_redelivery_after_commit_adds_nothing(stream_mode, settings, customer):
    """A worker stored a batch and died before XACK: the entries come back, and count once."""
    _append(stream_mode, settings, 3, customer=customer)
    stream.group_ensure(stream_mode)
    entries = stream_mode.xreadgroup(
        stream.GROUP, "dead-worker", {settings.ANALYTICS_STREAM: ">"}, count=10
    )[0][1]
    pull_events_store(events=[pull_from_fields(f"r:{i.decode()}", f) for i, f in entries])
    assert _totals() == (3, 1, 1)
    settings.ANALYTICS_CLAIM_IDLE_SECONDS = 0  # the dead worker's entries are up for grabs
    result = ingest_pass()
    assert (result.read, result.stored) == (3, 0)
    assert _totals() == (3, 1, 1)
    assert stream_mode.xpending(settings.ANALYTICS_STREAM, stream.GROUP)["pending"] == 0


def test_pending_entries_of_a_dead_consumer_are_claimed(stream_mode, settings, customer):
    _append(stream_mode, settings, 2, customer=customer)
    stream.group_ensure(stream_mode)
    stream_mode.xreadgroup(stream.GROUP, "dead-worker", {settings.ANALYTICS_STREAM: ">"})
    _append(stream_mode, settings, 1, customer=customer, prefix="distr_pull_xyz")
    assert ingest_pass().stored == 1  # not idle long enough yet: only the new entry
    settings.ANALYTICS_CLAIM_IDLE_SECONDS = 0
    assert ingest_pass().stored == 2
    assert _totals() == (3, 2, 1)


def test_batches_split_and_counts_stay_exact(stream_mode, settings, customer):
    settings.ANALYTICS_BATCH_SIZE = 4
    _append(stream_mode, settings, 10, customer=customer)
    result = ingest_pass()
    assert (result.stored, result.batches) == (10, 3)
    assert _totals() == (10, 1, 1)


def test_malformed_entries_are_dropped_and_acknowledged(stream_mode, settings, customer):
    stream_mode.xadd(settings.ANALYTICS_STREAM, {"junk": "1"})
    _append(stream_mode, settings, 1, customer=customer)
    result = ingest_pass()
    assert (result.read, result.stored) == (2, 1)
    assert stream_mode.xlen(settings.ANALYTICS_STREAM) == 0


def test_events_of_unknown_vendors_are_dropped(stream_mode, settings, customer):
    fields = pull_fields(
        vendor_slug="gone",
        customer_id=None,
        token_prefix="",
        repository="gone/app",
        reference="1.0",
        digest="sha256:" + "b" * 64,
        client_address=None,
        user_agent="",
        occurred_at=timezone.now(),
    )
    stream_mode.xadd(settings.ANALYTICS_STREAM, fields)
    assert ingest_pass().stored == 0
    assert stream_mode.xlen(settings.ANALYTICS_STREAM) == 0


def test_circuit_breaker_skips_redis_after_a_failure(stream_mode, settings, licensed, customer):
    settings.ANALYTICS_REDIS_URL = "redis://127.0.0.1:1/0"
    attempts = []
    real_client = stream.capture_client

    def counting_client():
        attempts.append(1)
        return real_client()

    stream.capture_client = counting_client
    try:
        client = pull_client(customer)
        for _ in range(5):
            assert client.get("/v2/acme/app/manifests/1.0").status_code == 200
    finally:
        stream.capture_client = real_client
    assert len(attempts) == 1  # one timeout, then straight to the database
    result = ingest_pass()  # Redis still down: the outbox is drained all the same
    assert (result.stored, result.redis_unreachable) == (5, True)


def test_retention_prunes_old_events_and_keeps_rollups(embedded_mode, settings, customer):
    settings.ANALYTICS_RETENTION_DAYS = 90
    now = timezone.now()
    for age_days in (100, 91, 89, 0):
        fields = pull_fields(
            vendor_slug="acme",
            customer_id=customer.id,
            token_prefix="distr_pull_abc",
            repository="acme/app",
            reference="1.0",
            digest="sha256:" + "a" * 64,
            client_address="10.1.1.1",
            user_agent="",
            occurred_at=now - datetime.timedelta(days=age_days),
        )
        pull_events_store(events=[pull_from_fields(f"db:{age_days}", fields)])
    assert pull_events_prune(now=now) == 2
    assert PullEvent.objects.count() == 2
    assert PullRollup.objects.count() == 4
    assert sum(PullRollup.objects.values_list("pulls", flat=True)) == 4
    assert (
        PullRollupMember.objects.filter(day__lt=(now - datetime.timedelta(days=90)).date()).count()
        == 0
    )
