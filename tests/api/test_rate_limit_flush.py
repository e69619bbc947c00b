"""api.access.PerCallerRateThrottle: the per-process batches and their flushes."""

import threading
import time
from types import SimpleNamespace

from api.access import PerCallerRateThrottle


def test_a_flush_that_waits_does_not_send_the_requests_after_it_to_wait(settings, monkeypatch):
    # A flush on the embedded default waits for SQLite's write lock while ingestion holds
    # it; before, every request in the meantime started a flush of its own and waited too.
    settings.API_RATE_LIMIT = "400/min"  # batches of 20
    monkeypatch.setattr(PerCallerRateThrottle, "_pending", {})
    monkeypatch.setattr(PerCallerRateThrottle, "_shared", {})
    monkeypatch.setattr("api.access.time", SimpleNamespace(time=lambda: 7_000_010.0))
    release, flushes = threading.Event(), []

    def slow_incr(self, key, by):
        flushes.append(by)
        if len(flushes) == 1:
            release.wait(10)
        return by

    monkeypatch.setattr(PerCallerRateThrottle, "_incr", slow_incr)
    throttle = PerCallerRateThrottle()
    first = threading.Thread(target=throttle._allow, args=("user:1",))
    first.start()
    try:
        deadline = time.monotonic() + 5
        while not flushes:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        for _ in range(5):
            assert throttle._allow("user:1") is True
        assert flushes == [1]
    finally:
        release.set()
        first.join()
    # the five counted here go out with the next flush
    for _ in range(15):
        throttle._allow("user:1")
    assert flushes == [1, 20]
