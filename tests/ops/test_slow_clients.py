"""Slow clients cannot take the server down (issue 12 C).

Forty slow connections (20 that send their headers a line every 2 s, 20 that send a
100,000-byte body a byte every 2 s, 16 of them to /v2/token and 4 to a blob upload; each
reconnects when dropped) against gunicorn as
`make run` starts it, and against the production shape (Debian's nginx running the shipped
deploy/nginx.conf in front of it). Meanwhile a normal client's /healthz and manifest GETs
must each answer within 1 s, a slow-but-progressing upload (100 KB/s, longer than every
timeout) must complete, and the slow connections must be dropped.
"""

import hashlib
import socket
import threading
import time
import uuid

import pytest
import requests

from tests.coherence.test_changes_across_processes import push_image
from tests.ops.test_client_address_behind_nginx import NGINX, Nginx, session_from
from tests.support.install import HttpClient, Install
from tests.support.requirements import require_command

ATTACK_SECONDS = 16  # longer than the 10 s header timeout and body-rate window
PROBE_LIMIT = 1.0
HEADER_TIMEOUT = 10  # ops/gthread.py and deploy/nginx.conf
TIMEOUT_408 = (
    b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Type: text/plain\r\n"
    b"Content-Length: 16\r\n\r\nrequest too slow"
)


@pytest.fixture(scope="module")
def served():

    require_command("nginx", NGINX)
    install = Install("embedded", extra_env={"TRUSTED_PROXIES": "127.0.0.1"})
    nginx = None
    try:
        install.prepare()
        install.push_secret = install.manage("seeddemo").stdout.strip().splitlines()[-1]
        install.start()
        install.repo = f"acme/slow{uuid.uuid4().hex[:6]}"
        push_image(HttpClient(install.url, ("ci", install.push_secret)), install.repo, "1.0")
        nginx = Nginx(install.host)
        yield install, nginx
    finally:
        if nginx:
            nginx.stop()
        install.stop()


class SlowClients:
    """`count` slow-header and `count` slow-body connections from 127.0.0.1 (the normal
    client connects from another address), each reopened when the server drops it."""

    def __init__(self, port: int, count: int = 20, upload_path: str = "/v2/acme/x/blobs/uploads/"):
        self.port = port
        self.stop = threading.Event()
        self.dropped: list[tuple[str, float, bytes]] = []  # kind, seconds open, answer
        self.opened = 0
        self.lock = threading.Lock()
        # Most slow bodies go to the token endpoint (the case), some to a blob
        # upload, which the shipped nginx streams through to distr.
        body_paths = ["/v2/token"] * 4 + [upload_path]
        self.threads = [
            threading.Thread(target=self._slow_headers, daemon=True) for _ in range(count)
        ] + [
            threading.Thread(target=self._slow_body, args=(body_paths[i % 5],), daemon=True)
            for i in range(count)
        ]

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        time.sleep(1)  # every connection is open and sending
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=5)

    def _trickle(self, kind: str, head: bytes, drip: bytes) -> None:
        while not self.stop.is_set():
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            sock.settimeout(0)
            with self.lock:
                self.opened += 1
            opened = time.monotonic()
            answer = b""
            next_drip = opened + 2
            try:
                sock.sendall(head)
                while not self.stop.wait(0.1):
                    try:
                        data = sock.recv(4096)
                        answer += data
                        if not data:
                            break
                    except BlockingIOError:
                        pass
                    if time.monotonic() >= next_drip:
                        sock.sendall(drip)
                        next_drip += 2
            except OSError:
                pass
            finally:
                sock.close()
            if not self.stop.is_set():
                with self.lock:
                    self.dropped.append((kind, time.monotonic() - opened, answer))

    def _slow_headers(self) -> None:
        self._trickle("headers", b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n", b"X-a: b\r\n")

    def _slow_body(self, path: str) -> None:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\n"
        ).encode()
        self._trickle("body", head, b"a")


def progressing_upload(base: str, install: Install, result: dict) -> None:
    """A legitimate slow client: a 1.5 MB layer PATCHed (chunked) at 100 KB/s, i.e. for
    15 s, longer than the header timeout and the body-rate window."""
    auth = ("ci", install.push_secret)
    blob = bytes(range(256)) * 6000  # 1,536,000 bytes
    repo = f"acme/slowup{uuid.uuid4().hex[:6]}"
    started = time.monotonic()
    response = requests.post(f"{base}/v2/{repo}/blobs/uploads/", auth=auth, timeout=10)
    assert response.status_code == 202, response.text
    location = response.headers["Location"]
    location = location if location.startswith("http") else base + location

    def body():
        for offset in range(0, len(blob), 10_000):
            yield blob[offset : offset + 10_000]
            time.sleep(0.1)

    patched = requests.patch(
        location,
        data=body(),
        auth=auth,
        headers={"Content-Type": "application/octet-stream"},
        timeout=60,
    )
    result["patch"] = (patched.status_code, patched.headers.get("Range"))
    location = patched.headers["Location"]
    location = location if location.startswith("http") else base + location
    digest = "sha256:" + hashlib.sha256(blob).hexdigest()
    put = requests.put(location, params={"digest": digest}, auth=auth, timeout=10)
    result["put"] = (put.status_code, put.headers.get("Docker-Content-Digest"))
    result["seconds"] = time.monotonic() - started


def probe_while_attacked(install: Install, base: str, port: int) -> tuple[list, SlowClients, dict]:
    normal = session_from("127.0.0.2")
    normal.headers["Connection"] = "close"  # a new connection each time: accept must work
    samples = []
    upload: dict = {}
    with SlowClients(port) as slow:
        uploader = threading.Thread(target=progressing_upload, args=(base, install, upload))
        uploader.start()
        deadline = time.monotonic() + ATTACK_SECONDS
        while time.monotonic() < deadline:
            for path, auth in (
                ("/healthz", None),
                (f"/v2/{install.repo}/manifests/1.0", ("ci", install.push_secret)),
            ):
                started = time.monotonic()
                try:
                    status = normal.get(base + path, auth=auth, timeout=3).status_code
                except requests.RequestException as e:
                    status = type(e).__name__
                samples.append((path, status, time.monotonic() - started))
            time.sleep(0.2)
        uploader.join(timeout=30)
    return samples, slow, upload


def assert_served_throughout(samples, upload) -> None:
    slow = [s for s in samples if s[1] != 200 or s[2] >= PROBE_LIMIT]
    assert not slow, f"{len(slow)} of {len(samples)} probes failed or took >= 1 s: {slow[:6]}"
    assert len(samples) >= 40
    assert upload.get("patch", (None,))[0] == 202, upload
    assert upload["patch"][1] == "0-1535999"
    assert upload["put"][0] == 201, upload
    assert upload["seconds"] >= 15  # it really was slow, and was not cut off


def test_direct_gunicorn_keeps_answering_and_drops_slow_clients(served):
    install, _ = served
    samples, slow, upload = probe_while_attacked(install, install.url, install.port)
    assert_served_throughout(samples, upload)
    # Every slow connection was answered 408 when its 10 s were up, and reopened.
    assert {kind for kind, _, _ in slow.dropped} == {"headers", "body"}
    assert len(slow.dropped) >= 40, slow.dropped
    for kind, seconds, answer in slow.dropped:
        assert HEADER_TIMEOUT - 0.5 <= seconds <= HEADER_TIMEOUT + 3, (kind, seconds)
        assert answer == TIMEOUT_408, (kind, answer)


def test_behind_the_shipped_nginx_keeps_answering(served):
    install, nginx = served
    samples, slow, upload = probe_while_attacked(install, nginx.url, nginx.port)
    assert_served_throughout(samples, upload)
    # nginx drops a slow header after client_header_timeout; a slow body to an upload is
    # streamed to distr, which answers 408 (nginx passes it on). A slow small body is read
    # by nginx itself (it only costs nginx a connection) and may trickle on.
    headers = [seconds for kind, seconds, _ in slow.dropped if kind == "headers"]
    assert len(headers) >= 20
    assert all(HEADER_TIMEOUT - 0.5 <= s <= HEADER_TIMEOUT + 3 for s in headers), headers
    uploads = [answer for kind, _, answer in slow.dropped if kind == "body"]
    assert len(uploads) >= 4
    assert all(answer.startswith(b"HTTP/1.1 408 ") for answer in uploads), uploads[:3]


def test_an_upload_that_stalls_mid_body_is_dropped(served):
    """Past the part read in the poller, a body streams in a thread under the minimum
    rate: 1 KiB/s over each 10 s of waiting. A client that sends 64 KiB and then a byte
    every 2 s is answered BLOB_UPLOAD_INVALID after that window, and the connection
    closes; the thread is free again."""
    install, _ = served
    auth = requests.post(
        f"{install.url}/v2/acme/stall/blobs/uploads/",
        auth=("ci", install.push_secret),
        timeout=10,
    )
    assert auth.status_code == 202
    location = auth.headers["Location"]
    basic = requests.Request("PATCH", install.url, auth=("ci", install.push_secret)).prepare()
    sock = socket.create_connection(("127.0.0.1", install.port), timeout=20)
    sock.sendall(
        (
            f"PATCH {location} HTTP/1.1\r\nHost: {install.host}\r\n"
            f"Authorization: {basic.headers['Authorization']}\r\n"
            "Content-Type: application/octet-stream\r\nContent-Length: 1000000\r\n\r\n"
        ).encode()
        + b"x" * 65536
    )
    started = time.monotonic()
    sock.settimeout(0)
    answer = b""
    while time.monotonic() - started < 20:
        try:
            data = sock.recv(65536)
            if not data:
                break
            answer += data
        except BlockingIOError:
            try:
                sock.sendall(b"x")
            except OSError:
                break
            time.sleep(2)
        except OSError:
            break
    elapsed = time.monotonic() - started
    sock.close()
    assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n"), answer[:200]
    assert b'"code":"BLOB_UPLOAD_INVALID"' in answer.replace(b" ", b""), answer
    assert b"minimum" in answer or b"below" in answer, answer
    assert 10 <= elapsed <= 15, elapsed


def test_nginx_limits_connections_per_client_address(served):
    """128 requests in progress from one address (here: slow uploads) are the limit; the
    129th from that address is refused 429 at once, another address is still served."""
    install, nginx = served
    head = (
        f"POST /v2/{install.repo}/blobs/uploads/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Length: 100000\r\n\r\n"
    ).encode()
    held = []
    try:
        for _ in range(128):
            sock = socket.create_connection(
                ("127.0.0.1", nginx.port), source_address=("127.0.0.8", 0)
            )
            sock.sendall(head)
            held.append(sock)
        time.sleep(0.5)  # nginx has read every request's headers
        refused = session_from("127.0.0.8").get(f"{nginx.url}/healthz", timeout=5)
        served_other = session_from("127.0.0.9").get(f"{nginx.url}/healthz", timeout=5)
    finally:
        for sock in held:
            sock.close()
    assert refused.status_code == 429
    assert served_other.status_code == 200
    time.sleep(0.5)  # nginx has seen them close
    assert session_from("127.0.0.8").get(f"{nginx.url}/healthz", timeout=5).status_code == 200


def exchange(port: int, *parts: bytes, pause: float = 0.0) -> tuple[bytes, float]:
    """Send `parts` on one connection (pausing between them), read to EOF."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=8)
    started = time.monotonic()
    for index, part in enumerate(parts):
        if index:
            time.sleep(pause)
        sock.sendall(part)
    answer = b""
    while data := sock.recv(65536):
        answer += data
    sock.close()
    return answer, time.monotonic() - started


def statuses(answer: bytes) -> list[bytes]:
    return [line for line in answer.split(b"\r\n") if line.startswith(b"HTTP/1.1 ")]


def test_complete_requests_get_a_thread_at_once(served):
    """What the poller reads ahead is handed on as soon as a request is complete:
    pipelined requests, a small chunked body with a trailer field, and Expect:
    100-continue (answered once, from the poller; the body follows) are all answered well
    before the 10 s header timeout."""
    install, _ = served
    answer, seconds = exchange(
        install.port,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
        b"POST /v2/token HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    assert statuses(answer) == [b"HTTP/1.1 200 OK", b"HTTP/1.1 400 Bad Request", b"HTTP/1.1 200 OK"]
    assert seconds < 3
    answer, seconds = exchange(
        install.port,
        b"POST /v2/token HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n",
    )
    assert statuses(answer) == [b"HTTP/1.1 400 Bad Request"]
    assert seconds < 3
    answer, seconds = exchange(
        install.port,
        b"POST /v2/token HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 5\r\n"
        b"Expect: 100-continue\r\n\r\n",
        b"hello",
        pause=1,
    )
    assert statuses(answer) == [b"HTTP/1.1 100 Continue", b"HTTP/1.1 400 Bad Request"]
    assert seconds < 4


def test_a_tls_probe_on_the_plain_port_is_answered_at_once(served):
    """skopeo and docker try HTTPS first: a TLS ClientHello is no HTTP/1 request and goes
    to gunicorn's parser (400) at once, not after the 10 s header timeout (which made
    every skopeo pull wait for its TLS handshake timeout)."""
    import ssl

    install, _ = served
    sock = socket.create_connection(("127.0.0.1", install.port), timeout=15)
    started = time.monotonic()
    with pytest.raises(ssl.SSLError):
        ssl.create_default_context().wrap_socket(sock, server_hostname="127.0.0.1")
    assert time.monotonic() - started < 2
    sock.close()
