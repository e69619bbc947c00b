"""Database helpers the hot paths share.

`prepared_cursor`: Django's cursors on PostgreSQL bind parameters on the client, so the
server plans every statement afresh. For a statement with several joins that planning
costs more than executing it (licensing/checkin_state.py: 2.4 ms against 0.36 ms), so a
hot path that runs one such statement per request asks for a cursor whose statements
PostgreSQL prepares once per connection (psycopg's server-side binding with
`prepare=True`). Only statements run through this cursor are prepared: the connection's
own ClientCursor never prepares, whatever the threshold. Behind a transaction-mode pooler
this needs one that keeps prepared statements (PgBouncer 1.21 or newer with
`max_prepared_statements`; docs/deploy.md). On SQLite, Python's sqlite3 module keeps
prepared statements by itself; there the cursor only remembers each statement's `?` form,
which Django's cursor would otherwise rebuild with a regular expression on every call.
"""

import sqlite3

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


class _QmarkCursor(sqlite3.Cursor):
    """Django's SQLite cursor takes `%s` placeholders and converts them on every call;
    this one converts each statement once. Only for statements without a literal `%`."""

    _converted: dict[str, str] = {}

    def execute(self, query, params=()):
        converted = self._converted.get(query)
        if converted is None:
            if "%%" in query or query.count("%") != query.count("%s"):
                raise ValueError("prepared_cursor: a literal % in the statement")
            converted = self._converted[query] = query.replace("%s", "?")
        return super().execute(converted, params)


def prepared_cursor(connection=connection):
    """A Django cursor (query logging, execute wrappers and error wrapping as usual; use
    it in a `with`) whose statements are prepared on PostgreSQL. A plain function, not a
    context manager: contextlib's machinery cost a check-in more than the wrapping."""
    global _cursor_class
    vendor = connection.vendor
    if vendor not in ("sqlite", "postgresql"):
        return connection.cursor()
    # What BaseDatabaseWrapper._cursor does, with our cursor class.
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    raw = connection.connection
    if vendor == "sqlite":
        cursor_class = _QmarkCursor
    else:
        if raw.prepare_threshold is None:
            raw.prepare_threshold = _EXPLICIT_ONLY
        if _cursor_class is None:
            _cursor_class = _prepared_cursor_class()
        cursor_class = _cursor_class
    with connection.wrap_database_errors:
        return connection._prepare_cursor(
            raw.cursor(cursor_class) if vendor == "sqlite" else cursor_class(raw)
        )
