"""Serving a kit: any byte range of its tar, streamed from blob storage in fixed chunks
(constant memory whatever the kit's size), with Content-Length, ETag, Range/206 and
If-Range, so `curl -C -` resumes a broken download and two downloads are byte-identical.

The bytes of one response come from many blobs, so unlike a blob GET there is no single
object to redirect to (S3) or sendfile: the filesystem store is read with pread into a
reused buffer, object storage with one ranged GET per blob the range overlaps.
"""

import os
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
    kit: Kit, layout: Layout, start: int, end: int, partial: bool, *, head: bool = False
):
    headers = {**kit_headers(kit), "Content-Length": str(end - start + 1)}
    if partial:
        headers["Content-Range"] = f"bytes {start}-{end}/{kit.total_size}"
    status = 206 if partial else 200
    if head:
        return HttpResponse(status=status, content_type="application/x-tar", headers=headers)
    return StreamingHttpResponse(
        layout.stream(start, end, blob_reader()),
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
    return kit_response(kit, kit_layout(kit), start, end, partial, head=request.method == "HEAD")
