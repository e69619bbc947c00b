"""HTTP helpers for the registry: request body streaming, ranges, pagination links."""

import re
from collections.abc import Iterator
from urllib.parse import urlencode

from django.conf import settings

from registry.errors import (
    BlobRangeInvalid,
    BlobUploadInvalid,
    NameInvalid,
    PaginationNumberInvalid,
    SizeInvalid,
)
from registry.metrics import BYTES_UPLOADED

_CONTENT_RANGE = re.compile(r"(?:bytes[ =])?(\d+)-(\d+)(?:/(?:\d+|\*))?")
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


def request_content_length(request) -> int | None:
    value = request.META.get("CONTENT_LENGTH")
    if value in (None, ""):
        return None
    try:
        length = int(value)
    except ValueError:
        raise SizeInvalid("invalid Content-Length") from None
    if length < 0:
        raise SizeInvalid("invalid Content-Length")
    return length


def request_body_chunks(request, chunk_bytes: int | None = None) -> Iterator[bytes]:
    """Yield the request body in fixed-size chunks, never holding it all in memory.

    Django reads nothing from a body without Content-Length, but docker and skopeo send
    blob PATCHes with chunked transfer encoding; the server (gunicorn) has de-chunked
    those and marks the stream as terminated, so read it to EOF directly.
    """
    received = 0
    try:
        for chunk in _body_chunks(request, chunk_bytes or settings.REGISTRY_UPLOAD_CHUNK_BYTES):
            received += len(chunk)
            yield chunk
    finally:
        BYTES_UPLOADED.inc(received)  # once per request: cheap in multiprocess mode


def _body_chunks(request, chunk_bytes: int) -> Iterator[bytes]:
    """The body's chunks; a client that stalls or drops mid-body ends the upload with
    BLOB_UPLOAD_INVALID (the server's minimum-rate rule, ops/gthread.py, raises an
    OSError from the read, as a reset connection does)."""
    received = 0
    try:
        for chunk in _body_reads(request, chunk_bytes):
            received += len(chunk)
            yield chunk
    except OSError as e:  # Django's UnreadablePostError is one
        raise BlobUploadInvalid(f"request body ended after {received} bytes: {e}") from e


def _body_reads(request, chunk_bytes: int) -> Iterator[bytes]:
    length = request_content_length(request)
    if length is None:
        if not request.META.get("wsgi.input_terminated") and "chunked" not in request.META.get(
            "HTTP_TRANSFER_ENCODING", ""
        ):
            return
        stream = request.META["wsgi.input"]
        while chunk := stream.read(chunk_bytes):
            yield chunk
        return
    remaining = length
    while remaining > 0:
        chunk = request.read(min(chunk_bytes, remaining))
        if not chunk:
            raise BlobUploadInvalid(
                f"request body ended after {length - remaining} of {length} bytes"
            )
        remaining -= len(chunk)
        yield chunk


def content_range_parse(value: str | None) -> tuple[int, int] | None:
    """`Content-Range: <start>-<end>` (inclusive) of a chunk PATCH."""
    if not value:
        return None
    match = _CONTENT_RANGE.fullmatch(value.strip())
    if not match:
        raise BlobUploadInvalid(f"invalid Content-Range {value[:100]!r}")
    try:
        start, end = int(match.group(1)), int(match.group(2))
    except ValueError:  # more digits than Python converts (sys.get_int_max_str_digits)
        raise BlobUploadInvalid(f"invalid Content-Range {value[:100]!r}") from None
    if end < start:
        raise BlobUploadInvalid(f"invalid Content-Range {value[:100]!r}")
    return start, end


def range_parse(value: str | None, size: int) -> tuple[int, int] | None:
    """A single `Range: bytes=a-b` (RFC 9110) resolved against `size`.

    Returns inclusive (start, end), None for "serve the whole thing" (no header, or one we
    do not support such as multiple ranges), or raises ValueError when unsatisfiable.
    """
    if not value:
        return None
    match = _RANGE.fullmatch(value.strip())
    if not match:
        return None  # RFC 9110: an unsupported range unit or syntax may be ignored
    first, last = match.group(1), match.group(2)
    if first == "" and last == "":
        return None
    if size == 0:
        raise ValueError("no range of an empty blob is satisfiable")
    if first == "":  # suffix range: the last N bytes
        suffix = int(last)
        if suffix == 0:
            raise ValueError("empty suffix range")
        return max(size - suffix, 0), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or (last and int(last) < start):
        raise ValueError("range not satisfiable")
    return start, end


def blob_range(value: str | None, size: int, headers: dict) -> tuple[int, int, int]:
    """The part of a `size`-byte blob a GET with `Range: value` gets: (offset, length,
    status 200 or 206). Sets Content-Length, and Content-Range for a 206, in `headers`;
    an unsatisfiable range is 416 with `Content-Range: bytes */<size>`."""
    try:
        byte_range = range_parse(value, size)
    except ValueError:
        raise BlobRangeInvalid(headers={"Content-Range": f"bytes */{size}"}) from None
    start, end = byte_range or (0, size - 1)
    if byte_range:
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    headers["Content-Length"] = str(end - start + 1)
    return start, end - start + 1, 206 if byte_range else 200


def pagination_parse(request) -> tuple[int | None, str]:
    n_value, last = request.GET.get("n"), request.GET.get("last", "")
    if "\x00" in last:  # no name has one, and PostgreSQL cannot compare text with it
        raise NameInvalid("invalid last: names never contain NUL")
    if n_value is None or n_value == "":
        return None, last
    try:
        n = int(n_value)
    except ValueError:
        raise PaginationNumberInvalid(f"invalid n {n_value[:20]!r}") from None
    if n < 0:
        raise PaginationNumberInvalid(f"invalid n {n_value[:20]!r}")
    return min(n, settings.REGISTRY_PAGE_MAX), last


def next_link(path: str, n: int, last: str) -> str:
    return f'<{path}?{urlencode({"n": n, "last": last})}>; rel="next"'
