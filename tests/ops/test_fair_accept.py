"""New connections are shared fairly between gunicorn's workers (ops/gthread.py, item 4):
a burst of 32 connections opened at once is shared (16/16 give or take the slack of the
counts), not left mostly to the worker that woke first. Through a live gunicorn with two
workers; which worker served a connection comes from its request-log line (pid)."""

import socket
import subprocess
import time
import uuid

import pytest

from tests.support.install import Install

CONNECTIONS = 32


@pytest.fixture(scope="module")
def two_workers():
    install = Install("embedded", extra_env={"WEB_CONCURRENCY": "2", "LOG_FORMAT": "json"})
    try:
        install.prepare()
        install.start()
        yield install
    finally:
        install.stop()


def request_on(sock: socket.socket, request_id: str, host: str) -> bytes:
    sock.sendall(
        f"GET /v2/ HTTP/1.1\r\nHost: {host}\r\nX-Request-ID: {request_id}\r\n\r\n".encode()
    )
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection"
        answer += chunk
    return answer


def both_workers_up(install: Install) -> None:
    """The server answers as soon as one worker does; the second may still be forking."""
    deadline = time.monotonic() + 30
    while len(install.worker_pids()) < 2:
        assert time.monotonic() < deadline, "the second worker never started"
        time.sleep(0.1)
    time.sleep(1.0)  # into its accept loop, and its count published


def test_a_burst_of_connections_is_shared_between_the_workers(two_workers):
    install = two_workers
    both_workers_up(install)
    for attempt in range(3):  # three bursts: a lucky split must not pass for a fair one
        address = ("127.0.0.1", install.port)
        sockets = [socket.create_connection(address) for _ in range(CONNECTIONS)]
        try:
            ids = {}
            for sock in sockets:  # every connection connected before any is served
                ids[sock] = f"fair-{attempt}-{uuid.uuid4().hex[:8]}"
                assert request_on(sock, ids[sock], install.host).startswith(b"HTTP/1.1 401")
            per_worker = {}
            for request_id in ids.values():
                (pid,) = install.served_by({request_id})
                per_worker[pid] = per_worker.get(pid, 0) + 1
        finally:
            for sock in sockets:
                sock.close()
        counts = sorted(per_worker.values())
        # The rule keeps workers within FAIR_SLACK of each other on the counts they read;
        # those may be 50 ms stale, and connections of the previous burst may still be
        # closing on one side, so the test asks for a fair share, not an exact one: without
        # the rule this burst lands 32/0 (about a third of the rate, bench/README.md).
        assert len(counts) == 2 and counts[0] >= CONNECTIONS // 3, per_worker
        closed_by_the_server(install.port)


def closed_by_the_server(port: int) -> None:
    """Before the next burst: the server has closed every connection of this one."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        out = subprocess.run(
            ["ss", "-tnH", "state", "established", f"( sport = :{port} )"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        if not out.strip():
            return
        time.sleep(0.1)
    raise AssertionError(f"connections still open:\n{out}")
