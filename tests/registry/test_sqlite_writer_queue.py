"""The embedded default's writer queue (distr/db/sqlite3/base.py): threads of one process
take turns for SQLite's write lock in Python. Every write still lands, a transaction that
fails hands the turn on, and a forked worker never inherits a taken turn."""

import os
import threading

import pytest
from django.db import IntegrityError, connection, connections, transaction

from core.changes import generation_bump, generations_read
from distr.db.sqlite3 import base as writer_queue

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "sqlite", reason="the writer queue is the SQLite backend's"
    ),
]

THREADS, WRITES = 8, 25


def test_engine_is_the_queueing_backend():
    assert connection.settings_dict["ENGINE"] == "distr.db.sqlite3"
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
        cursor.execute("PRAGMA synchronous")
        assert cursor.fetchone()[0] == 1  # NORMAL


def test_concurrent_write_transactions_all_land_and_failures_hand_the_turn_on():
    errors = []
    start = threading.Barrier(THREADS)

    def writer(t: int) -> None:
        try:
            start.wait(timeout=30)
            for n in range(WRITES):
                try:
                    with transaction.atomic():
                        generation_bump(f"test:{t}:{n}")
                        if n % 5 == 4:  # every fifth rolls back
                            raise IntegrityError("rolled back on purpose")
                except IntegrityError:
                    pass
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(repr(error))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    keys = [f"test:{t}:{n}" for t in range(THREADS) for n in range(WRITES)]
    values = generations_read(keys)
    kept = {k for k, v in values.items() if v}
    assert kept == {f"test:{t}:{n}" for t in range(THREADS) for n in range(WRITES) if n % 5 != 4}
    assert not writer_queue._writer.locked()  # every turn given back


def test_the_turn_is_given_back_when_begin_fails(monkeypatch):
    def failing_begin(self):
        raise RuntimeError("BEGIN failed")

    monkeypatch.setattr(
        writer_queue.base.DatabaseWrapper, "_start_transaction_under_autocommit", failing_begin
    )
    with pytest.raises(RuntimeError, match="BEGIN failed"), transaction.atomic():
        pass
    assert not writer_queue._writer.locked()


def test_a_forked_child_starts_with_a_free_turn():
    held = writer_queue._writer
    held.acquire()
    try:
        pid = os.fork()
        if pid == 0:  # the child: a fresh lock, free
            os._exit(0 if writer_queue._writer.acquire(timeout=1) else 1)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        held.release()
