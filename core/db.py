"""Database helpers the hot paths share.

`prepared_cursor`: Django's cursors on PostgreSQL bind parameters on the client, so the
server plans every statement afresh. For a statement with several joins that planning
costs more than executing it (licensing/checkin_state.py: 2.4 ms against 0.36 ms), so a
hot path that runs one such statement per request asks for a cursor whose statements
PostgreSQL prepares once per connection (psycopg's server-side binding with
`prepare=True`). Only statements run through this cursor are prepared: the connection's
own ClientCursor never prepares, whatever the threshold. Behind a transaction-mode pooler
this needs one that keeps prepared statements (PgBouncer 1.21 or newer with
`max_prepared_statements`; docs/deploy.md). Elsewhere it is Django's own cursor: Python's
sqlite3 module keeps prepared statements by itself.
"""

from contextlib import contextmanager

from django.db import connection

# psycopg prepares nothing while the connection's threshold is None (Django's default);
# any number lets `prepare=True` through, and ClientCursor ignores it either way.
_EXPLICIT_ONLY = 2**31 - 1


def _prepared_cursor_class():
    import psycopg  # only on PostgreSQL

    class PreparedCursor(psycopg.Cursor):
        def execute(self, query, params=None, *, prepare=None, binary=None):
            return super().execute(query, params, prepare=True, binary=binary)

    return PreparedCursor


_cursor_class = None


@contextmanager
def prepared_cursor(connection=connection):
    """A Django cursor (query logging, execute wrappers and error wrapping as usual) whose
    statements are prepared on PostgreSQL."""
    global _cursor_class
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            yield cursor
        return
    # What BaseDatabaseWrapper._cursor does, with our cursor class.
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    raw = connection.connection
    if raw.prepare_threshold is None:
        raw.prepare_threshold = _EXPLICIT_ONLY
    if _cursor_class is None:
        _cursor_class = _prepared_cursor_class()
    with connection.wrap_database_errors:
        cursor = connection._prepare_cursor(_cursor_class(raw))
    with cursor:
        yield cursor
