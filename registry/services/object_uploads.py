"""Blob uploads on object storage (STORAGE_BACKEND=s3): the S3 multipart counterpart of
the file appends in services/uploads.py, which dispatches here.

One request at a time appends to an upload, across instances: it holds a lease on the
Upload row (renewed while it streams; it lapses if its holder dies). The row is the
upload's whole state (multipart id, parts, tail, size), updated only when a request
succeeds, so a failed or cut-off request leaves the upload where it was.

The running sha256 cannot be saved (hashlib state is opaque), so a request on a process
that did not see the previous bytes continues without it: while no part has been sent the
buffer holds every byte and is re-hashed locally; after that, the digest is verified by
reading the completed object back from the bucket once, at finish.
"""

import time
import uuid
from collections.abc import Iterable
from contextlib import contextmanager
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from registry.digests import Digest
from registry.errors import BlobUploadInvalid, BlobUploadUnknown, DigestInvalid, RangeNotSatisfiable
from registry.models import Blob, Repository, Upload
from registry.services.repositories import blob_link, blob_record
from registry.storage import blob_store, hasher_cache
from registry.storage.upload_state import UploadState

LEASE = timedelta(minutes=2)
LEASE_POLL_SECONDS = 0.05


def upload_start(*, repository: Repository) -> Upload:
    # The multipart upload is created when the first full part is sent: most blobs
    # (configs, small layers) never need one.
    return Upload.objects.create(repository=repository)


def upload_append_chunk(
    *, upload: Upload, chunks: Iterable[bytes], content_range: tuple[int, int] | None
) -> Upload:
    store = blob_store()
    with _leased(upload.id) as (current, renew):
        size = current.size
        if content_range is not None and content_range[0] != size:
            raise RangeNotSatisfiable(
                f"chunk starts at {content_range[0]}, upload has {size} bytes",
                headers=_range_headers(current, size),
            )
        with store.part_writer(current.id, _state(current), renew) as writer:
            hasher = _hasher_at(current, writer)
            written = writer.write(chunks, hasher)
            if content_range is not None and written != content_range[1] - content_range[0] + 1:
                raise BlobUploadInvalid(
                    f"Content-Range says {content_range[1] - content_range[0] + 1} bytes, "
                    f"body had {written}"
                )
            state = writer.saved()
        _record(current, state, hasher, renew)
    return current


def upload_finish(*, upload: Upload, chunks: Iterable[bytes], expected: Digest) -> Blob:
    store = blob_store()
    with _leased(upload.id) as (current, renew):
        with store.part_writer(current.id, _state(current), renew) as writer:
            hasher = _hasher_at(current, writer) if expected.algorithm == "sha256" else None
            if hasher is None and not writer.parts:
                hasher = writer.buffer_hasher(expected.algorithm)
            received = writer.size
            writer.write(chunks, hasher)
            if hasher is not None:
                actual = hasher.hexdigest()
            elif writer.size == received and _recorded_hash_valid(current, expected):
                actual = current.sha256_so_far  # no last chunk: the recorded hash holds
            else:
                actual = None  # verified from the completed object (see module docstring)
            if actual is not None and actual != expected.hex:
                # The client may retry with the right digest: nothing of this request is kept.
                hasher_cache.drop(current.id)
                raise DigestInvalid(
                    f"content digest {expected.algorithm}:{actual} does not match {expected}",
                    detail={"expected": str(expected), "actual": f"{expected.algorithm}:{actual}"},
                )
            try:
                store.upload_commit(writer, expected, verified=actual is not None)
            except DigestInvalid:
                _forget(current, store)  # the multipart upload is used up
                raise
            size = writer.size
        hasher_cache.drop(current.id)
        store.upload_discard(current.id)  # tails; the multipart upload is complete
        with transaction.atomic():
            blob = blob_record(digest=str(expected), size=size)
            blob_link(repository=current.repository, blob=blob)
            Upload.objects.filter(id=current.id).delete()
    return blob


def upload_cancel(*, upload: Upload) -> None:
    """Abort the multipart upload and delete the session's objects. Waits for a request
    appending to it to finish, as the filesystem store's lock does."""
    store = blob_store()
    try:
        with _leased(upload.id) as (current, _renew):
            _forget(current, store)
    except BlobUploadUnknown:
        pass  # already finished or cancelled


def _forget(upload: Upload, store) -> None:
    hasher_cache.drop(upload.id)
    store.upload_discard(upload.id, upload.multipart_id)
    Upload.objects.filter(id=upload.id).delete()


def orphan_multipart_abort(*, older_than: timedelta) -> int:
    """Abort multipart uploads no Upload row knows (an instance died between creating one
    and recording it); returns how many."""
    store = blob_store()
    found = store.multipart_uploads_started_before(timezone.now() - older_than)
    known = {
        str(i)
        for i in Upload.objects.filter(
            multipart_id__in=[multipart for _, multipart in found]
        ).values_list("id", flat=True)
    }
    orphans = [(upload_id, multipart) for upload_id, multipart in found if upload_id not in known]
    for upload_id, multipart in orphans:
        store.upload_discard(upload_id, multipart)
    return len(orphans)


@contextmanager
def _leased(upload_id):
    """Hold the upload's lease; yields (fresh row, renew). Raises BlobUploadUnknown when
    the upload is gone, including when it finished while this request waited."""
    holder = uuid.uuid4()
    while True:
        now = timezone.now()
        taken = (
            Upload.objects.filter(id=upload_id)
            .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
            .update(lease_holder=holder, lease_until=now + LEASE)
        )
        if taken:
            break
        if not Upload.objects.filter(id=upload_id).exists():
            raise BlobUploadUnknown(f"upload {upload_id} unknown")
        time.sleep(LEASE_POLL_SECONDS)

    def renew(multipart_id: str = "") -> None:
        fields = {"lease_until": timezone.now() + LEASE, "updated_at": timezone.now()}
        if multipart_id:
            fields["multipart_id"] = multipart_id
        if not Upload.objects.filter(id=upload_id, lease_holder=holder).update(**fields):
            raise BlobUploadUnknown(f"upload {upload_id} was taken over or cancelled")

    try:
        current = Upload.objects.select_related("repository").get(id=upload_id)
        current.lease_holder = holder
        yield current, renew
    finally:
        Upload.objects.filter(id=upload_id, lease_holder=holder).update(
            lease_holder=None, lease_until=None
        )


def _state(upload: Upload) -> UploadState:
    return UploadState(upload.size, upload.multipart_id, list(upload.parts), upload.tail_key)


def _hasher_at(upload: Upload, writer):
    """The running sha256 at the upload's current size, or None when it is unknown here."""
    hasher = hasher_cache.take(upload.id, upload.size)
    if hasher is None and not writer.parts:
        hasher = writer.buffer_hasher("sha256")
    return hasher


def _recorded_hash_valid(upload: Upload, expected: Digest) -> bool:
    return expected.algorithm == "sha256" and bool(upload.sha256_so_far)


def _record(upload: Upload, state: UploadState, hasher, renew) -> None:
    """Record a successful append; then the old tail object is no longer needed."""
    previous_tail = upload.tail_key
    upload.size, upload.multipart_id = state.size, state.multipart_id
    upload.parts, upload.tail_key = state.parts, state.tail_key
    upload.sha256_so_far = hasher.hexdigest() if hasher is not None else ""
    recorded = Upload.objects.filter(id=upload.id, lease_holder=upload.lease_holder).update(
        size=upload.size,
        multipart_id=upload.multipart_id,
        parts=upload.parts,
        tail_key=upload.tail_key,
        sha256_so_far=upload.sha256_so_far,
        updated_at=timezone.now(),
    )
    if not recorded:
        raise BlobUploadUnknown(f"upload {upload.id} was cancelled")
    if hasher is not None:
        hasher_cache.put(upload.id, upload.size, hasher)
    if previous_tail != upload.tail_key:
        blob_store().tail_delete(previous_tail)


def _range_headers(upload: Upload, size: int) -> dict:
    # Same answer as the filesystem path (services/uploads.py) gives.
    return {
        "Location": f"/v2/{upload.repository.name}/blobs/uploads/{upload.id}",
        "Range": f"0-{max(size - 1, 0)}",
        "Docker-Upload-UUID": str(upload.id),
    }
