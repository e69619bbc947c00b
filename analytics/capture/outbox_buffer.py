"""Pull events of the embedded default, written to the database outbox in batches.

SQLite has one writer at a time: an INSERT on every manifest GET made the embedded
default's manifest GET three times slower under load (bench/run.py: 3,376 → 1,029 req/s).
So when ANALYTICS_OUTBOX_BUFFER_SECONDS > 0 (the default on SQLite) events wait in
process memory and a thread writes them in one transaction at that interval, or as soon
as ANALYTICS_OUTBOX_BUFFER_MAX are waiting. That thread writes, not the request that
filled the buffer: the write may wait for SQLite's lock behind an ingestion batch, and a
pull must not (bench/README.md, issue 18). Only if the writer falls far behind
(OVERFLOW_FACTOR times the maximum waiting) does a request write, so memory stays
bounded. A clean exit writes what is left; a process killed outright loses at most that
interval's events. Redis unreachable in production is
a different path (analytics.capture): each event is written at once, nothing waits.
"""

import atexit
import logging
import threading

from django.conf import settings
from django.db import connections

logger = logging.getLogger(__name__)
_KEEP_AT_MOST = 100_000  # events held while the database refuses writes, then dropped
OVERFLOW_FACTOR = 10


class OutboxBuffer:
    def __init__(self):
        self._events: list[dict] = []
        self._lock = threading.Lock()
        self._flushing = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()  # the buffer is full: the writer goes now

    def add(self, fields: dict) -> None:
        with self._lock:
            self._events.append(fields)
            waiting = len(self._events)
            if self._thread is None:
                self._start()
        if waiting >= settings.ANALYTICS_OUTBOX_BUFFER_MAX * OVERFLOW_FACTOR:
            self.flush()  # the writer is far behind: this request writes
        elif waiting >= settings.ANALYTICS_OUTBOX_BUFFER_MAX:
            self._wake.set()

    def flush(self) -> int:
        """Write every waiting event now; returns how many were written."""
        from analytics.models import PullEventOutbox

        with self._flushing:  # one writer per process keeps the order and the batches
            with self._lock:
                batch, self._events = self._events, []
            if not batch:
                return 0
            try:
                PullEventOutbox.objects.bulk_create(
                    [PullEventOutbox(payload=fields) for fields in batch]
                )
            except Exception:
                logger.exception("analytics: %s pull events not written yet", len(batch))
                with self._lock:
                    self._events[:0] = batch
                    del self._events[_KEEP_AT_MOST:]
                return 0
            return len(batch)

    def waiting(self) -> int:
        with self._lock:
            return len(self._events)

    def stop(self) -> None:
        """Write what is waiting and end the writer thread (the next event starts it)."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            self._wake.set()
            thread.join(timeout=10)
            self._stop.clear()
            self._wake.clear()
        self.flush()

    def _start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="analytics-outbox", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while True:
            self._wake.wait(settings.ANALYTICS_OUTBOX_BUFFER_SECONDS or 1.0)
            self._wake.clear()
            if self._stop.is_set():
                return
            if self.waiting():
                try:
                    self.flush()
                finally:
                    # This thread's connection is used once a second at most: let it go
                    # rather than hold a database session open between writes.
                    connections.close_all()


buffer = OutboxBuffer()
atexit.register(buffer.flush)
