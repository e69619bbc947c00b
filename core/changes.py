"""Change generations: how every process of one install agrees on what changed.

A generation is a row in the database (`ChangeGeneration`: name -> random 63-bit value)
for each thing whose derived state a process may keep in memory: a repository's content
(`repo:<name>`), a customer's licenses and standing (`customer:<id>`), a token's liveness
(`token:<prefix>`). The service that makes a change replaces the value *inside its own
transaction*, so the new generation commits with the change or not at all: no window after
the commit, no lost invalidation when a process dies, nothing that a cache flush or an
eviction can undo, and the same answer with or without Redis.

Readers fetch the generations a request needs in one query (`Generations`) and use a
per-process memo only when it was built under the same values. Values are random, not
counters, so a value seen before a database restore is never mistaken for a later one.
"""

import secrets

from django.db import connection

from core.models import ChangeGeneration

_TABLE = ChangeGeneration._meta.db_table
# One statement on SQLite (>= 3.24) and PostgreSQL alike.
_UPSERT = (
    f"INSERT INTO {_TABLE} (name, value) VALUES (%s, %s) "  # noqa: S608 - table name is ours
    "ON CONFLICT (name) DO UPDATE SET value = excluded.value"
)


def generation_bump(key: str) -> None:
    """Give `key` a new generation. Call it inside the transaction that makes the change."""
    with connection.cursor() as cursor:
        cursor.execute(_UPSERT, [key, secrets.randbits(63)])


def generations_read(keys: list[str]) -> dict[str, int]:
    """Current generations of `keys` in one query; a key never bumped reads as 0."""
    values = dict.fromkeys(keys, 0)
    if keys:
        placeholders = ", ".join(["%s"] * len(keys))
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT name, value FROM {_TABLE} WHERE name IN ({placeholders})",  # noqa: S608
                keys,
            )
            values.update(cursor.fetchall())
    return values


class Generations:
    """The generations one request has read: each key at most once, several in one query
    when they are known up front (`prefetch`)."""

    __slots__ = ("_values",)

    def __init__(self) -> None:
        self._values: dict[str, int] = {}

    def prefetch(self, keys: list[str]) -> None:
        missing = [key for key in keys if key not in self._values]
        if missing:
            self._values.update(generations_read(missing))

    def get(self, key: str) -> int:
        if key not in self._values:
            self.prefetch([key])
        return self._values[key]


def repository_generation_key(repository_name: str) -> str:
    return f"repo:{repository_name}"


def customer_generation_key(customer_id: int) -> str:
    return f"customer:{customer_id}"


def token_generation_key(prefix: str) -> str:
    return f"token:{prefix}"


def repository_changed(*, repository_name: str) -> None:
    """Tags, manifests or referrers of the repository changed (entitlements depend on them)."""
    generation_bump(repository_generation_key(repository_name))


def customer_changed(*, customer_id: int) -> None:
    """A license, grant or the standing of the customer changed."""
    generation_bump(customer_generation_key(customer_id))


def token_changed(*, prefix: str) -> None:
    """The token was revoked (or otherwise changed what it may do)."""
    generation_bump(token_generation_key(prefix))
