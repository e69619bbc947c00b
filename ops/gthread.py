"""gunicorn's gthread worker, guarded against slow clients (deploy/gunicorn.conf.py uses it).

A thread is the scarce resource: two workers x 8 threads serve everything. Stock gthread
(gunicorn 27) waits in the poller only for a connection's first byte; after that, header
parsing and body reads block a thread for as long as the client takes, so 16 clients that
send one byte every two seconds hold every thread. This worker changes three things:

1. Headers, and the first part of the body, are read in the poller (non-blocking, no
   thread): a request is dispatched to a thread only once its headers are complete and its
   body is complete or has at least BODY_PREFIX_BYTES buffered. A request that has not got
   that far within HEADER_TIMEOUT seconds is answered 408 and closed.
2. Bodies that stream on in the thread (blob uploads) are held to a minimum rate: over each
   BODY_WINDOW seconds spent *waiting* in recv, at least BODY_MIN_RATE x BODY_WINDOW bytes
   must arrive, or the connection is dropped. Time the application spends elsewhere (hashing,
   writing to storage) does not count, and there is no total-time cap: a client pushing a
   1 GiB layer at 100 KB/s is never cut off.
3. Connections that end are half-closed and lingered over in the poller, not in
   gunicorn's blocking close on the poller's own thread.
4. Workers share new connections fairly. All workers wait on one listening socket, and a
   burst of connections (a client's pool opening, wrk's 32) went mostly to whichever
   worker woke first: bench/worker_spread.py saw 32/0 and 29/3 splits, and one worker
   alone serves a third of what two do. Each worker publishes its open connections in
   memory shared by the master's forks (`ConnectionShares`) and stops accepting while it
   holds more than FAIR_SLACK over the fewest of the other live workers that have a
   thread free (connections lingering after their close do not count).

docs/deploy.md ("Slow clients and capacity") explains the numbers. This subclasses gunicorn
internals (TConn, finish_request, the parser's unreader), so pyproject.toml pins gunicorn's
minor version; tests/ops/test_slow_clients.py runs it against real slow sockets.
"""

import errno
import mmap
import os
import re
import select
import selectors
import socket
import time
from collections import deque
from functools import partial

from gunicorn.http.unreader import SocketUnreader
from gunicorn.http2 import negotiation
from gunicorn.workers import gthread


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, "") or default)
    except ValueError:
        return default


HEADER_TIMEOUT = _env_float("DISTR_CLIENT_HEADER_TIMEOUT", 10.0)
BODY_WINDOW = _env_float("DISTR_CLIENT_BODY_WINDOW", 10.0)
BODY_MIN_RATE = _env_float("DISTR_CLIENT_BODY_MIN_RATE", 1024.0)  # bytes per second
# Memory per connection being read in the poller is bounded by these two: with gunicorn's
# default worker_connections (1000), at most 48 MiB per worker.
HEADER_MAX_BYTES = 32 * 1024
BODY_PREFIX_BYTES = 16 * 1024
LINGER_SECONDS = 2.0
LINGER_MAX_BYTES = 64 * 1024

_END_OF_HEADERS = re.compile(rb"\r?\n\r?\n")
_CONTENT_LENGTH = re.compile(rb"\r?\ncontent-length[ \t]*:[ \t]*(\d{1,19})[ \t]*\r?\n", re.I)
_CHUNKED = re.compile(rb"\r?\ntransfer-encoding[ \t]*:[^\r\n]*chunked", re.I)
# Bytes no HTTP/1 request head has (a TLS ClientHello, say: skopeo and docker try HTTPS
# first). Such a connection goes to gunicorn's parser at once, which answers 400, instead
# of being waited on until the header timeout while the client waits for a ServerHello.
_NOT_HTTP1 = re.compile(rb"\A(?:\r?\n)*[^A-Za-z\r\n]|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# The last chunk of a chunked body (RFC 9112 section 7.1: extensions, trailer fields).
_LAST_CHUNK = re.compile(rb"(?:\A|\n)0+[ \t]*(?:;[^\r\n]*)?\r?\n(?:[^\r\n]+\r?\n)*\r?\n\Z")
_EXPECT_CONTINUE = re.compile(rb"\r?\nexpect[ \t]*:[ \t]*100-continue[ \t]*(?=\r?\n)", re.I)
_TIMEOUT_408 = (
    b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Type: text/plain\r\n"
    b"Content-Length: 16\r\n\r\nrequest too slow"
)


class SlowClient(OSError):
    """The request body arrived below the minimum rate (an OSError, like a reset peer:
    Django turns it into UnreadablePostError, and the worker closes the connection)."""


class RateGuardedUnreader(SocketUnreader):
    """The socket reader of a request in a thread: waits for data only as long as the
    minimum-rate rule allows."""

    def __init__(self, sock, max_chunk=8192):
        super().__init__(sock, max_chunk)
        self.tripped = False
        self.drain_only = False  # set while draining an unread body: never wait
        self.reset_window()

    def reset_window(self) -> None:
        """A window opens when the reader first has to wait: bytes that were already
        there (the part read in the poller, a burst) buy no stalling time later."""
        self.window_open = False
        self.waited = 0.0
        self.received = 0

    def chunk(self, size_hint=None):
        size = self.mxchunk
        if size_hint and size_hint > size:
            size = min(size_hint, self.max_body_chunk)
        try:  # the fast path: bytes are already there, no poll, no clock
            data = self.sock.recv(size, socket.MSG_DONTWAIT)
            self.received += len(data)
            return data
        except BlockingIOError:
            if self.drain_only:
                raise
        if not self.window_open:
            self.reset_window()
            self.window_open = True
        poller = select.poll()
        poller.register(self.sock.fileno(), select.POLLIN | select.POLLHUP | select.POLLERR)
        while True:
            left = BODY_WINDOW - self.waited
            if left <= 0:
                if self.received < BODY_MIN_RATE * BODY_WINDOW:
                    self.tripped = True
                    raise SlowClient(
                        errno.ETIMEDOUT,
                        f"request body below {BODY_MIN_RATE:.0f} bytes/s "
                        f"({self.received} bytes in {BODY_WINDOW:.0f}s of waiting)",
                    )
                self.waited, self.received = 0.0, 0
                left = BODY_WINDOW
            started = time.monotonic()
            ready = poller.poll(left * 1000)
            self.waited += time.monotonic() - started
            if ready:
                data = self.sock.recv(size)
                self.received += len(data)
                return data


FAIR_SLACK = 2  # connections a worker may hold over the fewest of its peers
SHARE_STALE_SECONDS = 2.5  # a peer silent this long (poller stuck, or dead) is ignored
SHARE_RECHECK_SECONDS = 0.05  # also re-read the peers' counts at this pace


class ConnectionShares:
    """Per worker slot: pid, open connections, requests in its threads, last heartbeat
    (monotonic µs), as int64s in an anonymous shared mapping made in the master (this
    module is imported there, before the workers fork). A worker's slot is its age
    modulo SLOTS; a collision of two live workers (SLOTS respawns apart) only makes them
    blind to each other."""

    SLOTS = 64
    _CELLS = 4

    def __init__(self):
        self._map = mmap.mmap(-1, self.SLOTS * self._CELLS * 8)
        self._cells = memoryview(self._map).cast("q")

    def publish(self, slot: int, *, connections: int, busy: int, now_us: int) -> None:
        base = slot * self._CELLS
        cells = self._cells
        cells[base], cells[base + 1], cells[base + 2] = os.getpid(), connections, busy
        cells[base + 3] = now_us

    def fewest_elsewhere(self, slot: int, *, threads: int, now_us: int) -> int | None:
        """The fewest connections of another live worker with a thread free (None: no
        such worker). A worker whose threads are all taken is not one to leave
        connections to: the race for accept() favours the responsive worker, and that is
        right then (tests/ops/test_slow_clients.py)."""
        fewest = None
        stale_before = now_us - int(SHARE_STALE_SECONDS * 1e6)
        cells = self._cells
        for other in range(self.SLOTS):
            base = other * self._CELLS
            if other == slot or cells[base] == 0 or cells[base + 3] < stale_before:
                continue
            if cells[base + 2] >= threads:
                continue
            if fewest is None or cells[base + 1] < fewest:
                fewest = cells[base + 1]
        return fewest


_shares = ConnectionShares()


class GuardedThreadWorker(gthread.ThreadWorker):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)  # in the master, before the fork
        self.reading_conns = deque()  # being read in the poller, oldest deadline first
        self.lingering_conns = deque()
        self.busy = 0  # requests handed to the thread pool and not yet finished
        self._share_slot = self.age % ConnectionShares.SLOTS
        self._share_checked = (-1, 0.0, 0)  # (connections, when, cap) of the last check
        self._share_held = False  # not accepting because of the peers' counts

    # --- fair shares of new connections ----------------------------------------------

    @property
    def worker_connections(self) -> int:
        """What gthread's loop compares nr_conns with before accepting (once per loop):
        the configured limit, or fewer while this worker is ahead of its peers."""
        conns, checked_at, cap = self._share_checked
        now = time.monotonic()
        if conns == self.nr_conns and now - checked_at < SHARE_RECHECK_SECONDS:
            return cap
        now_us = int(now * 1e6)
        slot = self._share_slot
        # Connections lingering after their close are on their way out: not counted.
        lingering = len(self.lingering_conns)
        active = self.nr_conns - lingering
        _shares.publish(slot, connections=active, busy=self.busy, now_us=now_us)
        cap = self._configured_connections
        fewest = _shares.fewest_elsewhere(slot, threads=self.cfg.threads, now_us=now_us)
        if fewest is not None:
            cap = min(cap, fewest + FAIR_SLACK + lingering)
        self._share_checked = (self.nr_conns, now, cap)
        # Held back by peers' counts, which may be stale: look again soon, or a peer that
        # held back on this worker's stale count could wait with it for the poller's 1 s.
        self._share_held = self.nr_conns >= cap and cap < self._configured_connections
        return cap

    def wait_for_and_dispatch_events(self, timeout):
        if self._share_held:
            timeout = min(timeout, SHARE_RECHECK_SECONDS)
        return super().wait_for_and_dispatch_events(timeout)

    @worker_connections.setter
    def worker_connections(self, value: int) -> None:
        self._configured_connections = value

    def enqueue_req(self, conn):
        self.busy += 1  # on the poller's thread, as finish_request
        super().enqueue_req(conn)

    def _guarded(self, conn) -> bool:
        # TLS and HTTP/2 prior knowledge read the socket themselves in TConn.init();
        # distr terminates TLS in front of gunicorn, so those keep stock behaviour.
        return not self.cfg.is_ssl and not negotiation.prior_knowledge_allowed(
            self.cfg, conn.client
        )

    # --- reading a request in the poller ---------------------------------------------

    def accept(self, listener):
        try:
            client_sock, client_addr = listener.accept()
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        conn = gthread.TConn(self.cfg, client_sock, client_addr, listener.getsockname())
        if self._guarded(conn):
            self._start_reading(conn, b"")
        else:
            client_sock.setblocking(True)
            self.enqueue_req(conn)

    def on_client_socket_readable(self, conn, client):
        """A kept-alive connection has a next request coming: read it in the poller too."""
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        if self._guarded(conn):
            self._start_reading(conn, b"")
        else:
            self.enqueue_req(conn)

    def _start_reading(self, conn, buffered: bytes) -> None:
        conn.sock.setblocking(False)
        conn.request_bytes = bytearray(buffered)
        conn.read_deadline = time.monotonic() + HEADER_TIMEOUT
        self.reading_conns.append(conn)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_readable, conn))
        if buffered:
            self._on_readable(conn, conn.sock)

    def _on_readable(self, conn, _client) -> None:
        buf = conn.request_bytes
        eof = False
        while len(buf) < HEADER_MAX_BYTES + BODY_PREFIX_BYTES:
            try:
                data = conn.sock.recv(HEADER_MAX_BYTES + BODY_PREFIX_BYTES - len(buf))
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                eof = True
                break
            if not data:
                eof = True
                break
            buf += data
        ready = self._ready(conn)
        if not ready and not eof:
            return
        self.poller.unregister(conn.sock)
        self.reading_conns.remove(conn)
        if not ready and not buf:  # the client went away between requests
            self.nr_conns -= 1
            conn.close()
            return
        # Complete, or the client closed its side early: either way gunicorn's parser now
        # has everything there is, and answers (or drops) it without waiting.
        conn.sock.setblocking(True)
        conn.data_ready = True
        self.enqueue_req(conn)

    def _ready(self, conn) -> bool:
        """Whether the buffered request may have a thread: its headers are complete and
        its body complete or begun in earnest (or the buffer is full, for gunicorn's parser
        to answer an oversized header)."""
        buf = conn.request_bytes
        end = _END_OF_HEADERS.search(buf)
        if end is None:
            return len(buf) >= HEADER_MAX_BYTES or _NOT_HTTP1.search(buf) is not None
        head = bytes(buf[: end.end()])
        expect = _EXPECT_CONTINUE.search(head)
        if expect:
            # Answer "100 Continue" from here, and hide the expectation from gunicorn so
            # it does not answer it a second time: the body is then read like any other.
            try:
                conn.sock.send(b"HTTP/1.1 100 Continue\r\n\r\n")
            except OSError:
                return True
            buf[expect.start() : expect.end()] = b"\r\nX-Distr-Expect-Answered: 100-continue"
            return self._ready(conn)
        body = len(buf) - end.end()
        if body >= BODY_PREFIX_BYTES:
            return True
        if _CHUNKED.search(head):
            return _LAST_CHUNK.search(bytes(buf[end.end() :])) is not None
        length = _CONTENT_LENGTH.search(head)
        return body >= (int(length.group(1)) if length else 0)

    def murder_pending(self):
        super().murder_pending()
        now = time.monotonic()
        while self.reading_conns and self.reading_conns[0].read_deadline <= now:
            conn = self.reading_conns.popleft()
            self._unregister(conn)
            try:
                conn.sock.send(_TIMEOUT_408)
            except OSError:
                pass
            self._linger(conn)
        while self.lingering_conns and self.lingering_conns[0].linger_deadline <= now:
            conn = self.lingering_conns.popleft()
            self._unregister(conn)
            self.nr_conns -= 1
            conn.close()

    def _unregister(self, conn) -> None:
        try:
            self.poller.unregister(conn.sock)
        except (OSError, KeyError, ValueError):
            pass

    # --- in the thread ---------------------------------------------------------------

    def handle(self, conn):
        if self._guarded(conn):
            conn.init()  # plain HTTP/1: only makes the parser (TLS and h2c are not guarded)
            unreader = conn.parser.unreader
            if not isinstance(unreader, RateGuardedUnreader):
                guarded = RateGuardedUnreader(conn.sock)
                guarded.buf = unreader.buf
                conn.parser.unreader = unreader = guarded
            unreader.reset_window()
            if conn.request_bytes:
                unreader.unread(bytes(conn.request_bytes))
                conn.request_bytes = bytearray()
        return super().handle(conn)

    def _keepalive_after(self, conn, keepalive):
        """Keep the connection only when the request's body has been read, or the rest of
        it has already arrived: a body the application did not read (an upload answered
        401, say) is not waited for, as stock gunicorn would for up to 5 s per request."""
        unreader = conn.parser.unreader
        if not isinstance(unreader, RateGuardedUnreader):
            return super()._keepalive_after(conn, keepalive)
        if not keepalive or unreader.tripped:
            return False
        unreader.drain_only = True
        try:
            return bool(conn.parser.finish_body(max_bytes=LINGER_MAX_BYTES))
        except OSError:  # BlockingIOError: more body is still to come
            return False
        finally:
            unreader.drain_only = False

    # --- back on the poller's thread -------------------------------------------------

    def finish_request(self, conn, fs):
        self.busy -= 1
        if not self._guarded(conn):
            return super().finish_request(conn, fs)
        try:
            result = fs.result() if not fs.cancelled() else False
        except Exception:  # noqa: BLE001 - as gunicorn: a failed request closes
            result = False
        if result is gthread._DEFER or (result and not self.alive):
            return super().finish_request(conn, fs)
        try:
            if not result:
                self._linger(conn)
                return
            pipelined = conn.parser.unreader.take_buffered()
            if pipelined:  # the client sent its next request already: read it here too
                self._start_reading(conn, pipelined)
                return
            super().finish_request(conn, fs)  # keep-alive: back on the poller
        except Exception:  # noqa: BLE001
            self.nr_conns -= 1
            conn.close()

    def _linger(self, conn) -> None:
        """Close as RFC 9112 section 9.6 asks (send FIN, read what the client still sends,
        then close) without blocking the poller: gunicorn's close_graceful waits up to 2 s
        in a blocking recv, here on the one thread that serves every connection."""
        try:
            conn.sock.setblocking(False)
            conn.sock.shutdown(socket.SHUT_WR)
        except OSError:
            self.nr_conns -= 1
            conn.close()
            return
        conn.linger_deadline = time.monotonic() + LINGER_SECONDS
        conn.lingered = 0
        self.lingering_conns.append(conn)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_linger, conn))

    def _on_linger(self, conn, _client) -> None:
        try:
            while True:
                data = conn.sock.recv(LINGER_MAX_BYTES)
                conn.lingered += len(data)
                if not data or conn.lingered >= LINGER_MAX_BYTES:
                    break
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            pass
        self._unregister(conn)
        self.lingering_conns.remove(conn)
        self.nr_conns -= 1
        conn.close()
