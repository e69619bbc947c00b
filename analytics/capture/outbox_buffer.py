"""Pull events of the embedded default, written to the database outbox in batches.

SQLite has one writer at a time: an INSERT on every manifest GET made the embedded
default's manifest GET three times slower under load (bench/run.py: 3,376 → 1,029 req/s).
So when ANALYTICS_OUTBOX_BUFFER_SECONDS > 0 (the default on SQLite) events wait in
process memory and a thread writes them in one transaction at that interval, or at once
when ANALYTICS_OUTBOX_BUFFER_MAX are waiting. A clean exit writes what is left; a process
killed outright loses at most that interval's events. Redis unreachable in production is
a different path (analytics.capture): each event is written at once, nothing waits.
"""

import atexit
import logging
import threading

from django.conf import settings
from django.db import connections

logger = logging.getLogger(__name__)
_KEEP_AT_MOST = 100_000  # events held while the database refuses writes, then dropped


class OutboxBuffer:
    def __init__(self):
        self._events: list[dict] = []
        self._lock = threading.Lock()
        self._flushing = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def add(self, fields: dict) -> None:
        with self._lock:
            self._events.append(fields)
            full = len(self._events) >= settings.ANALYTICS_OUTBOX_BUFFER_MAX
            if self._thread is None:
                self._start()
        if full:
            self.flush()

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
            thread.join(timeout=10)
            self._stop.clear()
        self.flush()

    def _start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="analytics-outbox", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(settings.ANALYTICS_OUTBOX_BUFFER_SECONDS or 1.0):
            if self.waiting():
                try:
                    self.flush()
                finally:
                    # This thread's connection is used once a second at most: let it go
                    # rather than hold a database session open between writes.
                    connections.close_all()


buffer = OutboxBuffer()
atexit.register(buffer.flush)
