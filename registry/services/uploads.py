"""Blob uploads: start, append chunks, finish (verify digest, commit atomically), cancel,
monolithic upload and cross-repository mount. Reads request bytes as an iterator of chunks;
never holds a whole blob in memory. On object storage the session functions hand over to
services/object_uploads.py (S3 multipart uploads)."""

import datetime
import itertools
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from registry.digests import Digest
from registry.errors import (
    BlobUploadInvalid,
    BlobUploadUnknown,
    DigestInvalid,
    RangeNotSatisfiable,
)
from registry.models import Blob, Repository, RepositoryBlob, Upload
from registry.services import object_uploads
from registry.services.repositories import blob_link, blob_record
from registry.storage import blob_store, hasher_cache


def upload_start(*, repository: Repository) -> Upload:
    if blob_store().multipart:
        return object_uploads.upload_start(repository=repository)
    upload = Upload(repository=repository)
    blob_store().upload_create(upload.id)
    upload.save(force_insert=True)
    return upload


def upload_append_chunk(
    *, upload: Upload, chunks: Iterable[bytes], content_range: tuple[int, int] | None
) -> Upload:
    """PATCH: append one chunk. A chunk that does not start where the upload ends is
    refused with 416 and the upload's current range, as the spec requires."""
    store = blob_store()
    if store.multipart:
        return object_uploads.upload_append_chunk(
            upload=upload, chunks=chunks, content_range=content_range
        )
    with store.upload_locked(upload.id) as handle:
        size = _recorded_size(upload, handle)
        if content_range is not None and content_range[0] != size:
            raise RangeNotSatisfiable(
                f"chunk starts at {content_range[0]}, upload has {size} bytes",
                headers=_range_headers(upload, size),
            )
        hasher = _hasher_at(upload, size)
        written = store.append(handle, chunks, hasher)
        if content_range is not None and written != content_range[1] - content_range[0] + 1:
            handle.truncate(size)
            raise BlobUploadInvalid(
                f"Content-Range says {content_range[1] - content_range[0] + 1} bytes, "
                f"body had {written}"
            )
        upload.size = size + written
        upload.sha256_so_far = hasher.hexdigest()
        recorded = Upload.objects.filter(id=upload.id).update(
            size=upload.size, sha256_so_far=upload.sha256_so_far, updated_at=timezone.now()
        )
        if not recorded:  # cancelled under us (cancel takes the lock, so only by a crash)
            raise BlobUploadUnknown(f"upload {upload.id} unknown")
        hasher_cache.put(upload.id, upload.size, hasher)
    return upload


def upload_finish(*, upload: Upload, chunks: Iterable[bytes], expected: Digest) -> Blob:
    """PUT ?digest=: append the optional last chunk, verify the digest, commit the bytes
    as a content-addressed blob and link it to the repository."""
    store = blob_store()
    if store.multipart:
        return object_uploads.upload_finish(upload=upload, chunks=chunks, expected=expected)
    chunks = iter(chunks)
    first = next(chunks, None)
    with store.upload_locked(upload.id) as handle:
        start = _recorded_size(upload, handle)
        if first is None and expected.algorithm == "sha256" and _recorded_hash_valid(upload, start):
            actual, size = upload.sha256_so_far, start  # no last chunk: no second pass
        else:
            if expected.algorithm == "sha256":
                hasher = _hasher_at(upload, start)
            else:
                hasher = store.upload_hash(upload.id, expected.algorithm)
            rest = itertools.chain([first], chunks) if first is not None else ()
            size = start + store.append(handle, rest, hasher)
            actual = hasher.hexdigest()
        if actual != expected.hex:
            # The client may retry the PUT with the right digest: keep what earlier requests
            # sent, drop what this one appended.
            hasher_cache.drop(upload.id)
            handle.truncate(start)
            raise DigestInvalid(
                f"content digest {expected.algorithm}:{actual} does not match {expected}",
                detail={"expected": str(expected), "actual": f"{expected.algorithm}:{actual}"},
            )
        # Still under the lock: a request waiting for it finds the upload gone (404),
        # never a half-finished state.
        store.upload_commit(upload.id, expected)
        hasher_cache.drop(upload.id)
        with transaction.atomic():
            blob = blob_record(digest=str(expected), size=size)
            blob_link(repository=upload.repository, blob=blob)
            Upload.objects.filter(id=upload.id).delete()
    return blob


def upload_cancel(*, upload: Upload) -> None:
    """Forget the upload and free its bytes. Takes the upload's lock, so a chunk being
    appended finishes first and later ones find the upload gone."""
    store = blob_store()
    if store.multipart:
        return object_uploads.upload_cancel(upload=upload)
    try:
        with store.upload_locked(upload.id):
            _forget(upload, store)
    except BlobUploadUnknown:  # its file is already gone: still drop the row
        _forget(upload, store)


def _forget(upload: Upload, store) -> None:
    hasher_cache.drop(upload.id)
    Upload.objects.filter(id=upload.id).delete()
    store.upload_discard(upload.id)


def blob_upload_monolithic(
    *, repository: Repository, chunks: Iterable[bytes], expected: Digest
) -> Blob:
    """POST ?digest=: the whole blob in one request. Nothing is visible unless it verifies."""
    upload = upload_start(repository=repository)
    try:
        return upload_finish(upload=upload, chunks=chunks, expected=expected)
    except BaseException:
        upload_cancel(upload=upload)
        raise


def blob_mount(*, repository: Repository, source: Repository, digest: Digest) -> Blob | None:
    """Link a blob from `source` (which the caller may read) into `repository`.
    Returns None when the source does not have it (the caller then starts an upload)."""
    link = (
        RepositoryBlob.objects.select_related("blob")
        .filter(repository=source, blob_id=str(digest))
        .first()
    )
    if link is None:
        return None
    blob_link(repository=repository, blob=link.blob)
    return link.blob


def _recorded_size(upload: Upload, handle) -> int:
    """Under the upload's lock: the size the database recorded, which every successful
    request writes before it lets go of the lock. Bytes past it in the file come from a
    request that died mid-write (kill -9 skips its clean-up): they are cut off, so the
    client resumes from the offset the upload's status advertised. Refreshes `upload`."""
    row = Upload.objects.filter(id=upload.id).values("size", "sha256_so_far").first()
    if row is None:
        raise BlobUploadUnknown(f"upload {upload.id} unknown")
    upload.size, upload.sha256_so_far = row["size"], row["sha256_so_far"]
    on_disk = handle.tell()
    if on_disk > upload.size:
        handle.truncate(upload.size)
        handle.seek(upload.size)
        hasher_cache.drop(upload.id)  # its state may include the cut-off bytes
    elif on_disk < upload.size:
        raise BlobUploadInvalid(
            f"upload {upload.id} lost bytes on disk ({on_disk} of {upload.size}); start again"
        )
    return upload.size


def _recorded_hash_valid(upload: Upload, size: int) -> bool:
    return bool(upload.sha256_so_far) and upload.size == size


def _hasher_at(upload: Upload, size: int):
    hasher = hasher_cache.take(upload.id, size)
    if hasher is None:
        hasher = blob_store().upload_hash(upload.id, "sha256")
    return hasher


def _range_headers(upload: Upload, size: int) -> dict:
    return {
        "Location": f"/v2/{upload.repository.name}/blobs/uploads/{upload.id}",
        "Range": f"0-{max(size - 1, 0)}",
        "Docker-Upload-UUID": str(upload.id),
    }


def upload_purge_stale(*, older_than: datetime.timedelta) -> int:
    """Cancel uploads untouched for `older_than` (clients that gave up); returns how many."""
    cutoff = timezone.now() - older_than
    stale = list(Upload.objects.filter(updated_at__lt=cutoff))
    for upload in stale:
        upload_cancel(upload=upload)
    return len(stale)
