"""Change generations: an opaque value per repository (and, in licensing, per customer)
replaced after every commit that changes what derived caches depend on. Caches put the
generations in their keys, so a change invalidates them at once in every process sharing
the cache, without waiting for a TTL.

Generations are random, never counters: if the cache is flushed or evicts one, readers
mint a fresh value, so an old key (possibly memoised in some process) is never reused.
"""

import uuid

from django.core.cache import cache
from django.db import transaction


def generation_bump(key: str) -> None:
    """Give `key` a new generation once the current transaction commits."""
    transaction.on_commit(lambda: cache.set(key, uuid.uuid4().hex, None))


def generations_get(keys: list[str]) -> dict[str, str]:
    values = cache.get_many(keys)
    for key in keys:
        if key not in values:
            cache.add(key, uuid.uuid4().hex, None)  # first reader after a flush wins
            values[key] = cache.get(key) or uuid.uuid4().hex
    return values


def repository_generation_key(repository_name: str) -> str:
    return f"registry:repo-gen:{repository_name}"


def repository_changed(*, repository_name: str) -> None:
    generation_bump(repository_generation_key(repository_name))
