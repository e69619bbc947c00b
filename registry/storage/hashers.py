"""Running hashes of uploads in progress, kept per process to avoid re-reading bytes."""

import threading
from collections import OrderedDict


class HasherCache:
    """Per-process cache of running hashers for uploads in progress.

    Python's hashlib state cannot be saved to storage, so a process that received the
    previous chunk keeps its hasher here; a process that did not re-hashes the bytes from
    storage. Correctness never depends on this cache, only speed.
    """

    def __init__(self, capacity: int = 256):
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self._capacity = capacity

    def take(self, upload_id, size: int):
        with self._lock:
            entry = self._items.pop(upload_id, None)
        if entry and entry[0] == size:
            return entry[1]
        return None

    def put(self, upload_id, size: int, hasher) -> None:
        with self._lock:
            self._items[upload_id] = (size, hasher)
            while len(self._items) > self._capacity:
                self._items.popitem(last=False)

    def drop(self, upload_id) -> None:
        with self._lock:
            self._items.pop(upload_id, None)


hasher_cache = HasherCache()
