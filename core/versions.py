"""Ordering tags by version: semantic versions (via `packaging`) where tags parse, so
"1.10" is newer than "1.9" and "v2.0.0" newer than "1.9.9"; push order otherwise. The one
ordering the portal's lists and the analytics' "newest" and "behind" all use."""

import datetime
from functools import lru_cache

from packaging.version import InvalidVersion, Version

_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


@lru_cache(maxsize=65536)  # dashboards order the same few hundred tags again and again
def tag_version(tag: str) -> Version | None:
    try:
        return Version(tag)  # accepts a leading "v"
    except InvalidVersion:
        return None


def tag_order_key(tag: str, pushed_at: datetime.datetime | None = None) -> tuple:
    """Sort key, ascending from oldest to newest: every tag that parses as a version
    comes after those that don't (a release outranks "latest" or "main")."""
    version = tag_version(tag)
    if version is not None:
        return (1, version, pushed_at or _EPOCH, tag)
    return (0, Version("0"), pushed_at or _EPOCH, tag)


def tags_newest_first(tags) -> list[str]:
    """Tags from newest to oldest: a dict of name -> when pushed, or just names."""
    pushed = tags if isinstance(tags, dict) else dict.fromkeys(tags)
    return sorted(pushed, key=lambda t: tag_order_key(t, pushed[t]), reverse=True)
