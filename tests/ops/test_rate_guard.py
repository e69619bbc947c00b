"""The minimum-rate rule of ops/gthread.py's socket reader, on a socketpair with short
windows (0.5 s, 1,000 bytes/s): a client that keeps up passes any number of windows, one
that trickles is dropped after one window of waiting, and time the application spends
elsewhere is not held against the client."""

import socket
import threading
import time

import pytest

from ops import gthread


@pytest.fixture
def pair(monkeypatch):
    monkeypatch.setattr(gthread, "BODY_WINDOW", 0.5)
    monkeypatch.setattr(gthread, "BODY_MIN_RATE", 1000.0)
    server, client = socket.socketpair()
    yield server, client
    server.close()
    client.close()


def send_every(sock, size: int, interval: float, seconds: float) -> threading.Thread:
    def run():
        deadline = time.monotonic() + seconds
        try:
            while time.monotonic() < deadline:
                sock.sendall(b"x" * size)
                time.sleep(interval)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def read_all(unreader, pause: float = 0.0) -> int:
    total = 0
    while data := unreader.chunk(65536):
        total += len(data)
        time.sleep(pause)
    return total


def test_a_client_that_keeps_up_is_never_cut_off(pair):
    server, client = pair
    send_every(client, 200, 0.05, 2.5)  # ~4,000 bytes/s for 5 windows
    unreader = gthread.RateGuardedUnreader(server)
    assert read_all(unreader) >= 8000
    assert not unreader.tripped


def test_a_trickling_client_is_dropped_after_one_window_of_waiting(pair):
    server, client = pair
    client.sendall(b"x" * 20000)  # a fast start buys no stalling time
    send_every(client, 5, 0.1, 5)  # then 50 bytes/s
    unreader = gthread.RateGuardedUnreader(server)
    started = time.monotonic()
    with pytest.raises(gthread.SlowClient, match="below 1000 bytes/s"):
        read_all(unreader)
    assert unreader.tripped
    assert 0.45 <= time.monotonic() - started <= 1.2


def test_time_the_app_spends_elsewhere_does_not_count(pair):
    server, client = pair
    send_every(client, 100, 0.3, 2.5)  # 333 bytes/s, below the minimum rate...
    unreader = gthread.RateGuardedUnreader(server)
    # ...but the app is slower still (0.4 s per chunk): its reads never wait.
    assert read_all(unreader, pause=0.4) >= 700
    assert not unreader.tripped
