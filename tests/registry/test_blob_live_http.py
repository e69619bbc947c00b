"""Blob downloads through a real gunicorn (`live_registry`), where `FileResponse` goes out
by sendfile(2) from the file offset: exact bytes and exact lengths for whole blobs and
Range requests, checked on raw sockets so one byte too many would show."""

import hashlib
import os
import socket

import pytest
import requests

from tests.support.server import live_http

MIB = 1024 * 1024
SIZE = 3 * MIB + 7


def sha256(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def raw_request(live, method: str, path: str, headers: dict | None = None):
    """One request with Connection: close; returns (status, headers, body) where body is
    everything the server sent after the headers, up to the close."""
    host, port = live.host.rsplit(":", 1)
    lines = [f"{method} {path} HTTP/1.1", f"Host: {live.host}", "Connection: close"]
    lines.append(f"Authorization: {live.auth_header}")
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        received = bytearray()
        while chunk := sock.recv(MIB):
            received += chunk
    head, _, body = bytes(received).partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parsed = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        parsed[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), parsed, body


@pytest.fixture
def blob(live_registry, repo_name):
    """A SIZE-byte blob pushed through the server. Function-scoped: live tests are
    transactional, so the database is flushed after each. Returns (repo, digest, bytes)."""
    repo = repo_name
    data = os.urandom(SIZE)
    digest = sha256(data)
    response = live_http.post(
        f"{live_registry.url}/v2/{repo}/blobs/uploads/?digest={digest}",
        data=data,
        headers={"Content-Type": "application/octet-stream"},
        timeout=60,
    )
    assert response.status_code == 201, response.text
    return repo, digest, data


def test_whole_blob_is_sent_exactly(live_registry, blob):
    repo, digest, data = blob
    status, headers, body = raw_request(live_registry, "GET", f"/v2/{repo}/blobs/{digest}")
    assert status == 200
    assert headers["content-length"] == str(SIZE)
    assert headers["docker-content-digest"] == digest
    assert headers["accept-ranges"] == "bytes"
    assert "content-range" not in headers
    assert body == data


def test_head_sends_headers_only(live_registry, blob):
    repo, digest, _ = blob
    status, headers, body = raw_request(live_registry, "HEAD", f"/v2/{repo}/blobs/{digest}")
    assert status == 200
    assert headers["content-length"] == str(SIZE)
    assert headers["docker-content-digest"] == digest
    assert body == b""


@pytest.mark.parametrize(
    "range_header, start, end",
    [
        ("bytes=0-9", 0, 9),
        ("bytes=10-", 10, SIZE - 1),
        ("bytes=-5", SIZE - 5, SIZE - 1),
        (f"bytes={MIB - 3}-{2 * MIB + 2}", MIB - 3, 2 * MIB + 2),  # across read-size bounds
        (f"bytes={SIZE - 1}-", SIZE - 1, SIZE - 1),
        (f"bytes=5-{SIZE * 2}", 5, SIZE - 1),
    ],
)
def test_range_is_sent_exactly(live_registry, blob, range_header, start, end):
    repo, digest, data = blob
    status, headers, body = raw_request(
        live_registry, "GET", f"/v2/{repo}/blobs/{digest}", {"Range": range_header}
    )
    assert status == 206
    assert headers["content-range"] == f"bytes {start}-{end}/{SIZE}"
    assert headers["content-length"] == str(end - start + 1)
    assert headers["docker-content-digest"] == digest
    assert body == data[start : end + 1]


def test_unsatisfiable_range_is_416(live_registry, blob):
    repo, digest, _ = blob
    response = live_http.get(
        f"{live_registry.url}/v2/{repo}/blobs/{digest}",
        headers={"Range": "bytes=999999999-"},
        timeout=10,
    )
    assert response.status_code == 416
    assert response.headers["Content-Range"] == f"bytes */{SIZE}"
    assert [e["code"] for e in response.json()["errors"]] == ["RANGE_NOT_SATISFIABLE"]


def test_ranges_on_one_keep_alive_connection(live_registry, blob):
    """Several sendfile responses back to back on one connection: any byte too many or too
    few would corrupt the next response."""
    repo, digest, data = blob
    url = f"{live_registry.url}/v2/{repo}/blobs/{digest}"
    with requests.Session() as session:
        session.auth = live_registry.credentials
        for start, end in [(0, 99), (SIZE - 100, SIZE - 1), (MIB, 2 * MIB), (7, 7)]:
            response = session.get(
                url, headers={"Range": f"bytes={start}-{end}", "Accept-Encoding": "identity"}
            )
            assert response.status_code == 206
            assert response.content == data[start : end + 1]
        whole = session.get(url)
        assert whole.status_code == 200
        assert whole.content == data
        assert session.get(f"{live_registry.url}/v2/").json() == {}
