"""Repository change generations: a counter per repository, bumped after every commit
that changes what its tags point at or which manifests exist. Caches derived from a
repository's content (licence entitlements) put the generation in their key, so a change
invalidates them at once, in every process sharing the cache, without waiting for a TTL."""

from django.core.cache import cache
from django.db import transaction


def _key(repository_name: str) -> str:
    return f"registry:repo-gen:{repository_name}"


def repository_changed(*, repository_name: str) -> None:
    def bump():
        key = _key(repository_name)
        cache.add(key, 0, None)
        try:
            cache.incr(key)
        except ValueError:  # evicted between add and incr
            cache.set(key, 1, None)

    transaction.on_commit(bump)


def repository_generation_key(repository_name: str) -> str:
    return _key(repository_name)
