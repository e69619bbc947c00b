# ruff: noqa: S608 - table and column names come from model metadata; values are parameters
"""Set-based writes for ingestion: insert many rows, skip the ones whose unique key is
already there, and learn which rows were new (RETURNING), so counts only ever grow by
events stored for the first time.

PostgreSQL: COPY into a session temp table, then one INSERT … SELECT … ON CONFLICT DO
NOTHING RETURNING (COPY is several times faster than a multi-row INSERT). SQLite: chunked
multi-row INSERT … ON CONFLICT DO NOTHING RETURNING.
"""

from collections.abc import Sequence

from django.db import connection

_SQLITE_MAX_PARAMS = 30000


def insert_new_returning(
    *,
    table: str,
    columns: Sequence[str],
    rows: Sequence[Sequence],
    conflict: Sequence[str],
    returning: Sequence[str],
) -> list[tuple]:
    if not rows:
        return []
    if connection.vendor == "postgresql":
        return _postgresql(table, columns, rows, conflict, returning)
    return _values(table, columns, rows, conflict, returning)


def upsert_adding(
    *,
    table: str,
    columns: Sequence[str],
    rows: Sequence[Sequence],
    conflict: Sequence[str],
    added: Sequence[str],
) -> None:
    """Insert rows; where the conflict key exists, add the `added` columns to it."""
    if not rows:
        return
    updates = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in added)
    if connection.vendor == "postgresql":
        column_list = ", ".join(columns)
        with connection.cursor() as cursor:
            stage = _stage(cursor, table, columns, rows)
            cursor.execute(
                f"INSERT INTO {table} ({column_list}) SELECT {column_list} FROM {stage} "
                f"ON CONFLICT ({', '.join(conflict)}) DO UPDATE SET {updates}"
            )
        return
    per_row = "(" + ", ".join(["%s"] * len(columns)) + ")"
    for chunk in _chunks(rows, _SQLITE_MAX_PARAMS // len(columns)):
        sql = (
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
            + ", ".join([per_row] * len(chunk))
            + f" ON CONFLICT ({', '.join(conflict)}) DO UPDATE SET {updates}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [value for row in chunk for value in row])


def _values(table, columns, rows, conflict, returning) -> list[tuple]:
    per_row = "(" + ", ".join(["%s"] * len(columns)) + ")"
    result: list[tuple] = []
    for chunk in _chunks(rows, _SQLITE_MAX_PARAMS // len(columns)):
        sql = (
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
            + ", ".join([per_row] * len(chunk))
            + f" ON CONFLICT ({', '.join(conflict)}) DO NOTHING"
            + f" RETURNING {', '.join(returning)}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [value for row in chunk for value in row])
            result.extend(cursor.fetchall())
    return result


def _stage(cursor, table: str, columns: Sequence[str], rows: Sequence[Sequence]) -> str:
    """COPY rows into this connection's temp table shaped like `table`; returns its name."""
    stage = f"_stage_{table}"
    column_list = ", ".join(columns)
    # One temp table per connection, reused (created again if a rollback undid it).
    cursor.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {stage} AS SELECT {column_list} FROM {table} WITH NO DATA"
    )
    cursor.execute(f"TRUNCATE {stage}")
    with cursor.cursor.copy(f"COPY {stage} ({column_list}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    return stage


def _postgresql(table, columns, rows, conflict, returning) -> list[tuple]:
    column_list = ", ".join(columns)
    with connection.cursor() as cursor:
        stage = _stage(cursor, table, columns, rows)
        cursor.execute(
            f"INSERT INTO {table} ({column_list}) SELECT {column_list} FROM {stage} "
            f"ON CONFLICT ({', '.join(conflict)}) DO NOTHING RETURNING {', '.join(returning)}"
        )
        return cursor.fetchall()


def _chunks(rows: Sequence, size: int):
    for start in range(0, len(rows), max(1, size)):
        yield rows[start : start + size]
