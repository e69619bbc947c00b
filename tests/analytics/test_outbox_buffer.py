"""The embedded default's batched outbox writer (analytics/capture/outbox_buffer.py): pulls wait
in memory, are written in one transaction, survive a failed write, and reach the rollups
exactly once."""

import threading
import time

import pytest

from analytics.capture.outbox_buffer import buffer
from analytics.ingestion import ingest_pass
from analytics.models import PullEventOutbox, PullRollup
from tests.analytics.conftest import pull_client


@pytest.fixture
def buffered(embedded_mode, settings):
    settings.ANALYTICS_OUTBOX_BUFFER_SECONDS = 0.2
    settings.ANALYTICS_OUTBOX_BUFFER_MAX = 1000
    buffer.flush()
    yield
    buffer.stop()  # no writer thread outlives the test (it would hold a DB session)


def _pull(client, times: int) -> None:
    for _ in range(times):
        assert client.get("/v2/acme/app/manifests/1.0").status_code == 200


def test_pulls_wait_in_memory_and_ingestion_takes_them(buffered, licensed, customer):
    _pull(pull_client(customer), 3)
    assert PullEventOutbox.objects.count() == 0 and buffer.waiting() == 3
    assert ingest_pass().stored == 3  # the pass writes this process's waiting events first
    assert buffer.waiting() == 0
    assert PullRollup.objects.get().pulls == 3


@pytest.mark.django_db(transaction=True)  # the writer thread's own connection sees it
def test_a_full_buffer_is_written_by_the_writer_not_the_pull(
    buffered, settings, licensed, customer
):
    """The write may wait for SQLite's lock behind an ingestion batch: the pull that fills
    the buffer must not wait with it."""
    settings.ANALYTICS_OUTBOX_BUFFER_SECONDS = 30  # so only a full buffer explains a write
    settings.ANALYTICS_OUTBOX_BUFFER_MAX = 2
    buffer.stop()  # the writer restarts with the interval above
    client = pull_client(customer)
    _pull(client, 1)
    assert buffer.waiting() == 1
    answered = threading.Event()
    with buffer._flushing:  # a write in progress, stuck behind the lock
        pull = threading.Thread(target=lambda: (_pull(client, 1), answered.set()))
        pull.start()
        assert answered.wait(10), "the pull waited for the write"
    pull.join()
    deadline = time.monotonic() + 5
    while PullEventOutbox.objects.count() < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert PullEventOutbox.objects.count() == 2 and buffer.waiting() == 0


def test_a_writer_far_behind_makes_the_request_write(
    buffered, settings, licensed, customer, monkeypatch
):
    settings.ANALYTICS_OUTBOX_BUFFER_SECONDS = 30
    settings.ANALYTICS_OUTBOX_BUFFER_MAX = 1  # so the tenth waiting event is too many
    buffer.stop()
    monkeypatch.setattr(buffer._wake, "set", lambda: None)  # a writer that does not come
    _pull(pull_client(customer), 9)
    assert PullEventOutbox.objects.count() == 0 and buffer.waiting() == 9
    _pull(pull_client(customer), 1)  # the tenth: the request writes them all
    assert PullEventOutbox.objects.count() == 10 and buffer.waiting() == 0


def test_a_failed_write_keeps_the_events(buffered, licensed, customer, monkeypatch):
    _pull(pull_client(customer), 2)
    calls = []

    def refuse(*args, **kwargs):
        calls.append(1)
        raise RuntimeError("database is locked")

    monkeypatch.setattr(PullEventOutbox.objects, "bulk_create", refuse)
    assert buffer.flush() == 0 and buffer.waiting() == 2 and calls
    monkeypatch.undo()
    assert buffer.flush() == 2
    assert ingest_pass().stored == 2
    assert PullRollup.objects.get().pulls == 2


@pytest.mark.django_db(transaction=True)
def test_the_writer_thread_flushes_on_its_own(buffered, licensed, customer):
    _pull(pull_client(customer), 4)
    deadline = time.monotonic() + 5
    while PullEventOutbox.objects.count() < 4:
        assert time.monotonic() < deadline, "the writer thread did not write within 5 s"
        time.sleep(0.05)
    assert buffer.waiting() == 0


def test_one_process_ingests_at_a_time(settings, tmp_path):
    """The embedded ingester's flock: while one holds it, another pass stands aside."""
    from analytics.capture.embedded import _one_ingester

    settings.DATA_DIR = tmp_path
    with _one_ingester() as first:
        with _one_ingester() as second:  # a second handle, as another process would open
            assert (first, second) == (True, False)
    with _one_ingester() as again:
        assert again is True
