"""Blob upload helpers: the upload protocol over the Django test client (`start`, `patch`,
`put`, `finish`, `upload_in_chunks`), over a live gunicorn (`start_live`, `pieces`,
`hand_sent_request`), and where the filesystem store keeps what they wrote."""

import socket
import time
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings

from tests.support.registry_client import errors, sha256
from tests.support.server import live_http

__all__ = [
    "MIB",
    "OCTETS",
    "blob_file",
    "blob_key",
    "errors",
    "finish",
    "hand_sent_request",
    "patch",
    "pieces",
    "pull",
    "put",
    "sha256",
    "start",
    "start_live",
    "upload_dir",
    "upload_file",
    "upload_in_chunks",
    "wait_until",
]

MIB = 1024 * 1024
OCTETS = {"Content-Type": "application/octet-stream"}


# --- where the bytes are -------------------------------------------------------------------


def blob_key(digest: str) -> str:
    """The storage key of a blob (filesystem path under the store's root, or S3 key)."""
    algorithm, hex_ = digest.split(":")
    return f"blobs/{algorithm}/{hex_[:2]}/{hex_}"


def blob_file(digest: str) -> Path:
    """A blob's file in the filesystem store."""
    return settings.DATA_DIR / "registry" / blob_key(digest)


def upload_dir(upload_id: str) -> Path:
    return settings.DATA_DIR / "registry" / "uploads" / upload_id


def upload_file(upload_id: str) -> Path:
    """The bytes an upload session received so far (filesystem store)."""
    return upload_dir(upload_id) / "data"


# --- over the Django test client -------------------------------------------------------------


def start(client, repo: str) -> tuple[str, str]:
    """Start an upload; returns (Location, upload id)."""
    response = client.post(f"/v2/{repo}/blobs/uploads/")
    assert response.status_code == 202, response.content
    return response["Location"], response["Docker-Upload-UUID"]


def patch(client, location: str, data: bytes, content_range: str | None = None):
    headers = {"Content-Range": content_range} if content_range else {}
    return client.generic(
        "PATCH", location, data=data, content_type="application/octet-stream", headers=headers
    )


def put(client, location: str, query: str = "", data: bytes = b""):
    """PUT to the session with `query` as given (e.g. "?digest=…", or a malformed one)."""
    return client.generic(
        "PUT", f"{location}{query}", data=data, content_type="application/octet-stream"
    )


def finish(client, location: str, digest: str, data: bytes = b""):
    """The closing PUT ?digest=, with the last chunk as its body (or none)."""
    return put(client, location, f"?digest={digest}", data)


def pull(client, repo: str, digest: str, range_header: str | None = None) -> tuple:
    """GET a blob; returns (response, body). Reading the stream to its end closes the file."""
    headers = {"Range": range_header} if range_header else {}
    response = client.get(f"/v2/{repo}/blobs/{digest}", headers=headers)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response, body


def upload_in_chunks(client, repo: str, chunks: list[bytes]) -> str:
    """Start an upload and PATCH `chunks` with Content-Range; returns the Location."""
    location, _ = start(client, repo)
    offset = 0
    for chunk in chunks:
        response = patch(client, location, chunk, f"{offset}-{offset + len(chunk) - 1}")
        assert response.status_code == 202, response.content
        offset += len(chunk)
    return location


# --- over a live gunicorn (`live_registry`) ---------------------------------------------------


def start_live(live, repo: str) -> tuple[str, str]:
    """Start an upload; returns (absolute upload URL, upload id)."""
    response = live_http.post(f"{live.url}/v2/{repo}/blobs/uploads/", timeout=10)
    assert response.status_code == 202, response.text
    return live.url + response.headers["Location"], response.headers["Docker-Upload-UUID"]


def pieces(data: bytes, size: int = 100_003):
    """A generator body: requests sends it with Transfer-Encoding: chunked."""
    for offset in range(0, len(data), size):
        yield data[offset : offset + size]


def wait_until(predicate, timeout: float = 20, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


@contextmanager
def hand_sent_request(live, method: str, path: str, declared: int | None):
    """A request whose body the test sends piece by piece with `send(bytes)`; leaving the
    block closes the connection, so a body not sent in full is cut off there. It announces
    `declared` body bytes (Content-Length), or with None uses chunked transfer encoding
    and never sends the terminating chunk."""
    host, port = live.host.rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=10)
    framing = "Transfer-Encoding: chunked" if declared is None else f"Content-Length: {declared}"
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: {live.host}\r\n"
        f"Authorization: {live.auth_header}\r\n"
        f"Content-Type: application/octet-stream\r\n{framing}\r\n\r\n"
    )

    def send(data: bytes) -> None:
        if declared is not None:
            sock.sendall(data)
            return
        for piece in pieces(data, 64 * 1024):
            sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))

    try:
        sock.sendall(head.encode())
        yield send
    finally:
        sock.close()
