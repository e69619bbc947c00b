"""Serving a kit: any byte range of its tar, streamed from blob storage in fixed chunks
(constant memory whatever the kit's size), with Content-Length, ETag, Range/206 and
If-Range, so `curl -C -` resumes a broken download and two downloads are byte-identical.

The bytes of one response come from many blobs, so unlike a blob GET there is no single
object to redirect to (S3) or hand to gunicorn's sendfile. On the filesystem store under
gunicorn (plain HTTP), each blob segment goes out with sendfile(2) straight onto the
client socket (`gunicorn.socket`) between the headers and small files gunicorn writes:
gunicorn writes every chunk the body yields before it asks for the next, so the order on
the wire is the tar's. Elsewhere (TLS in gunicorn, the test client) the filesystem store is
read with pread, object storage with one ranged GET per blob the range overlaps.
"""

import os
import select
import socket
import ssl
from collections.abc import Iterator

from django.http import HttpResponse, StreamingHttpResponse

from airgap.layout import Layout
from airgap.models import Kit
from airgap.selectors import kit_download_check
from airgap.services import kit_download_record, kit_layout
from analytics.capture import kit_pulls_record
from registry.digests import digest_parse
from registry.http import range_parse
from registry.storage import blob_store

CHUNK = 4 * 1024 * 1024  # fewer, larger writes: the stream is bound by per-chunk cost


def _filesystem_reader(store):
    def read(digest: str, offset: int, length: int) -> Iterator[bytes]:
        with store.blob_open(digest_parse(digest)) as handle:
            fd = handle.fileno()
            while length > 0:
                data = os.pread(fd, min(CHUNK, length), offset)
                if not data:
                    return  # shorter than recorded: the layout raises
                offset += len(data)
                length -= len(data)
                yield data

    return read


SENDFILE_STEP = 64 * 1024 * 1024  # per sendfile call; the kernel may send less


def _sendfile_all(sock: socket.socket, fd: int, offset: int, length: int) -> int:
    """Send `length` bytes of `fd` from `offset` onto the socket; the bytes sent (less
    only when the file is shorter). Waits while the socket is full (a socket timeout makes
    it non-blocking underneath)."""
    out, sent = sock.fileno(), 0
    timeout = sock.gettimeout()
    while sent < length:
        try:
            n = os.sendfile(out, fd, offset + sent, min(SENDFILE_STEP, length - sent))
        except BlockingIOError:
            if not select.select([], [out], [], timeout)[1]:
                raise TimeoutError("client not reading") from None
            continue
        if n == 0:
            break
        sent += n
    return sent


def _sendfile_reader(store, sock, state: dict):
    """pread until gunicorn has written something (the status line and headers go out
    with its first write), then sendfile for the rest of each blob segment."""

    def read(digest: str, offset: int, length: int) -> Iterator[bytes | int]:
        with store.blob_open(digest_parse(digest)) as handle:
            fd = handle.fileno()
            while length > 0:
                if state["written"]:
                    sent = _sendfile_all(sock, fd, offset, length)
                    yield sent
                    return  # shorter than recorded (sent < length): the layout raises
                data = os.pread(fd, min(CHUNK, length), offset)
                if not data:
                    return
                offset += len(data)
                length -= len(data)
                yield data

    return read


def _written(stream: Iterator[bytes], state: dict) -> Iterator[bytes]:
    """Marks `state` once gunicorn has written a chunk: it asks for the next one only
    after writing the previous one."""
    for chunk in stream:
        yield chunk
        state["written"] = True


def _client_socket(request):
    sock = request.META.get("gunicorn.socket")
    if not isinstance(sock, socket.socket) or isinstance(sock, ssl.SSLSocket):
        return None
    return sock


def _object_reader(store):
    def read(digest: str, offset: int, length: int) -> Iterator[bytes]:
        yield from store.blob_iter(digest_parse(digest), (offset, offset + length - 1))

    return read


def blob_reader():
    store = blob_store()
    return _filesystem_reader(store) if hasattr(store, "blob_open") else _object_reader(store)


def requested_range(kit: Kit, range_header: str | None, if_range: str | None):
    """(start, end, partial) of the tar a request asks for; ValueError when unsatisfiable.
    An If-Range naming another ETag (the kit is not the one the client started) gets it all."""
    if range_header and if_range and if_range.strip() != kit.etag:
        range_header = None
    byte_range = range_parse(range_header, kit.total_size)
    if byte_range is None:
        return 0, kit.total_size - 1, False
    return byte_range[0], byte_range[1], True


def kit_headers(kit: Kit) -> dict[str, str]:
    return {
        "ETag": kit.etag,
        "Accept-Ranges": "bytes",
        "Content-Disposition": f'attachment; filename="kit-{kit.pk}.tar"',
        "Cache-Control": "private, no-transform",
        "X-Content-Type-Options": "nosniff",
    }


def kit_response(
    kit: Kit,
    layout: Layout,
    start: int,
    end: int,
    partial: bool,
    *,
    head: bool = False,
    sock=None,
):
    headers = {**kit_headers(kit), "Content-Length": str(end - start + 1)}
    if partial:
        headers["Content-Range"] = f"bytes {start}-{end}/{kit.total_size}"
    status = 206 if partial else 200
    if head:
        return HttpResponse(status=status, content_type="application/x-tar", headers=headers)
    store = blob_store()
    if sock is not None and hasattr(store, "blob_open"):
        state = {"written": False}
        body = _written(layout.stream(start, end, _sendfile_reader(store, sock, state)), state)
    else:
        body = layout.stream(start, end, blob_reader())
    return StreamingHttpResponse(
        body,
        status=status,
        content_type="application/x-tar",
        headers=headers,
    )


def unsatisfiable(kit: Kit) -> HttpResponse:
    return HttpResponse(
        status=416,
        content_type="application/problem+json",
        headers={**kit_headers(kit), "Content-Range": f"bytes */{kit.total_size}"},
        content=(
            b'{"type":"about:blank","title":"Range Not Satisfiable","status":416,'
            b'"detail":"the range is outside the kit"}'
        ),
    )


def kit_serve(request, kit: Kit, *, actor: str):
    """A GET or HEAD of a kit, for the portal and the API alike. Raises KitRefused unless
    every license the kit was built under is active now (checked on every request). A GET
    from byte 0 starts a download: audited, and counted as a pull of each image it holds;
    a resumed Range continues it (airgap.services.kit_download_record)."""
    kit_download_check(kit=kit)
    try:
        start, end, partial = requested_range(
            kit, request.headers.get("Range"), request.headers.get("If-Range")
        )
    except ValueError:
        return unsatisfiable(kit)
    if request.method == "GET":
        address = request.META.get("REMOTE_ADDR")
        _download, new = kit_download_record(
            kit=kit,
            start=start,
            length=end - start + 1,
            actor=actor,
            client_address=address,
            user_agent=request.headers.get("User-Agent", ""),
        )
        if new:
            kit_pulls_record(
                vendor_slug=kit.vendor.slug,
                customer_id=kit.customer_id,
                kit_id=str(kit.pk),
                images=kit.images,
                client_address=address,
            )
    return kit_response(
        kit,
        kit_layout(kit),
        start,
        end,
        partial,
        head=request.method == "HEAD",
        sock=_client_socket(request),
    )
