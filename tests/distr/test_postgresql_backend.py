"""distr/postgresql: the health check without a round trip, on a connection of its own to
the local PostgreSQL (whatever database the suite runs on)."""

import select
import time

import pytest
from django.db.utils import ConnectionHandler

from tests.support.install import postgres_available
from tests.support.requirements import require


@pytest.fixture
def pg():
    require(postgres_available(), "PostgreSQL on 127.0.0.1:5432")
    wrapper = _wrapper()
    yield wrapper
    wrapper.close()


def _wrapper():
    database = {
        "ENGINE": "distr.postgresql",
        "NAME": "postgres",
        "USER": "postgres",
        "HOST": "127.0.0.1",
        "PORT": 5432,
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
    }
    return ConnectionHandler({"default": database})["default"]


def _backend_pid(wrapper) -> int:
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _next_request(wrapper) -> None:
    """What Django does at the start of each request (close_old_connections)."""
    wrapper.close_if_unusable_or_obsolete()
    assert wrapper.health_check_done is False


@pytest.mark.django_db
def test_a_quiet_idle_connection_is_reused_without_a_round_trip(pg, monkeypatch):
    first = _backend_pid(pg)
    _next_request(pg)
    checks = []
    monkeypatch.setattr(pg, "is_usable", lambda: checks.append(1) or True)
    assert _backend_pid(pg) == first
    assert checks == []  # Django's own check would have sent SELECT 1 here


@pytest.mark.django_db
def test_a_connection_the_server_ended_is_replaced_before_the_request_uses_it(pg):
    first = _backend_pid(pg)
    _next_request(pg)
    other = _wrapper()
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [first])
            assert cursor.fetchone() == (True,)
    finally:
        other.close()
    deadline = time.monotonic() + 5  # until the server's FATAL message reaches the socket
    while not select.select([pg.connection.fileno()], [], [], 0.05)[0]:
        assert time.monotonic() < deadline, "the terminated backend sent nothing"
    second = _backend_pid(pg)  # no error: the check saw it and reconnected
    assert second != first


@pytest.mark.django_db
def test_a_connection_inside_a_transaction_takes_djangos_check(pg, monkeypatch):
    _backend_pid(pg)
    with pg.cursor() as cursor:
        cursor.execute("BEGIN")
    pg.health_check_done = False
    checks = []
    monkeypatch.setattr(pg, "is_usable", lambda: checks.append(1) or True)
    _backend_pid(pg)
    assert checks == [1]
    with pg.cursor() as cursor:
        cursor.execute("ROLLBACK")
