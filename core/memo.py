"""A bounded, thread-safe LRU for per-process memos.

A memo is never the truth: callers key or validate its entries by change generations read
from the database on every request (core/changes.py), so an entry can be unused but
never stale; the bound drops the unused ones.
"""

import threading
from collections import OrderedDict
from typing import Generic, TypeVar

V = TypeVar("V")


class LruMemo(Generic[V]):
    def __init__(self, capacity: int):
        self._items: OrderedDict[str, V] = OrderedDict()
        self._lock = threading.Lock()  # gunicorn's threads share a process's memos
        self._capacity = capacity

    def get(self, key: str) -> V | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: str, value: V) -> None:
        with self._lock:
            self._items[key] = value
            while len(self._items) > self._capacity:
                self._items.popitem(last=False)
