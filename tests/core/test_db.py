"""core.db.prepared_cursor on PostgreSQL (a connection of its own to the local server,
whatever database the suite runs on) and on SQLite."""

import pytest
from django.db.utils import ConnectionHandler
from django.test.utils import CaptureQueriesContext

from core.db import prepared_cursor
from tests.distr.test_postgresql_backend import pg  # noqa: F401 - the fixture


@pytest.mark.django_db
def test_on_postgresql_statements_are_prepared_once_per_connection(pg):  # noqa: F811
    statement = "SELECT %s::int + 1, count(*) FROM pg_class WHERE relpages >= %s"
    for value in (1, 2, 3):
        with prepared_cursor(pg) as cursor:
            cursor.execute(statement, [value, 0])
            assert cursor.fetchone()[0] == value + 1
    with pg.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        statements = [row[0] for row in cursor.fetchall()]
    assert statements == ["SELECT $1::int + 1, count(*) FROM pg_class WHERE relpages >= $2"]
    # Django's own cursors still bind on the client and prepare nothing.
    with pg.cursor() as cursor:
        cursor.execute("SELECT %s::int", [5])
        cursor.execute("SELECT count(*) FROM pg_prepared_statements")
        assert cursor.fetchone() == (1,)


@pytest.mark.django_db
def test_on_sqlite_it_takes_percent_placeholders_and_counts_as_a_query(tmp_path):
    database = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(tmp_path / "s.sqlite3")}
    wrapper = ConnectionHandler({"default": database})["default"]
    try:
        with CaptureQueriesContext(wrapper) as queries:
            for value in (1, 2):
                with prepared_cursor(wrapper) as cursor:
                    cursor.execute("SELECT %s + 1, %s", [value, "a"])
                    assert cursor.fetchone() == (value + 1, "a")
        assert [q["sql"] for q in queries] == ["SELECT 1 + 1, 'a'", "SELECT 2 + 1, 'a'"]
        with prepared_cursor(wrapper) as cursor, pytest.raises(ValueError, match="literal"):
            cursor.execute("SELECT '100%' || %s", ["x"])
    finally:
        wrapper.close()
