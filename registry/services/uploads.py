"""Blob uploads: start, append chunks, finish (verify digest, commit atomically), cancel,
monolithic upload and cross-repository mount. Reads request bytes as an iterator of chunks;
never holds a whole blob in memory.

The same on every store: each request holds the upload's session (registry/storage/
sessions.py: the filesystem store's file lock, the S3 store's lease), which does the
steps that differ between appending to a file and to an S3 multipart upload."""

import datetime
import itertools
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from registry.digests import Digest
from registry.errors import BlobUploadInvalid, DigestInvalid, RangeNotSatisfiable
from registry.models import Blob, Repository, RepositoryBlob, Upload
from registry.services.repositories import blob_link, blob_record
from registry.storage import blob_store
from registry.usage import quota_refuse_if_over

# What a request that declares no length adds, for the quota check: at least a byte, so a
# vendor at its quota cannot start an upload (docs/registry.md, "Quotas").
UNDECLARED = 1


def upload_start(
    *, repository: Repository, declared_bytes: int | None = None, actor: str = ""
) -> Upload:
    """POST: a new session. Refused before anything is stored when the vendor's quota
    would be passed by `declared_bytes` (the request's Content-Length)."""
    quota_refuse_if_over(repository=repository, incoming=declared_bytes or UNDECLARED, actor=actor)
    upload = Upload(repository=repository)
    blob_store().upload_create(upload.id)
    upload.save(force_insert=True)
    return upload


def upload_append_chunk(
    *,
    upload: Upload,
    chunks: Iterable[bytes],
    content_range: tuple[int, int] | None,
    declared_bytes: int | None = None,
    actor: str = "",
) -> Upload:
    """PATCH: append one chunk. A chunk that does not start where the upload ends is
    refused with 416 and the upload's current range, as the spec requires; one that
    would pass the vendor's quota is refused before its bytes are read."""
    quota_refuse_if_over(
        repository=upload.repository, incoming=declared_bytes or UNDECLARED, actor=actor
    )
    with blob_store().upload_session(upload) as session:
        if content_range is not None and content_range[0] != session.size:
            raise RangeNotSatisfiable(
                f"chunk starts at {content_range[0]}, upload has {session.size} bytes",
                upload=session.upload,
            )
        hasher = session.hasher("sha256")
        written = session.append(chunks, hasher)
        if content_range is not None and written != content_range[1] - content_range[0] + 1:
            session.undo()
            raise BlobUploadInvalid(
                f"Content-Range says {content_range[1] - content_range[0] + 1} bytes, "
                f"body had {written}"
            )
        session.record(hasher)
    return session.upload


def upload_finish(
    *,
    upload: Upload,
    chunks: Iterable[bytes],
    expected: Digest,
    declared_bytes: int | None = None,
    actor: str = "",
) -> Blob:
    """PUT ?digest=: append the optional last chunk, verify the digest, commit the bytes
    as a content-addressed blob and link it to the repository. A last chunk that would
    pass the quota is refused before it is read (the bytes already received count)."""
    if declared_bytes:
        quota_refuse_if_over(repository=upload.repository, incoming=declared_bytes, actor=actor)
    chunks = iter(chunks)
    first = next(chunks, None)
    with blob_store().upload_session(upload) as session:
        if first is None and expected.algorithm == "sha256" and session.recorded_sha256:
            actual = session.recorded_sha256  # no last chunk: no second pass over the bytes
        else:
            hasher = session.hasher(expected.algorithm)
            session.append(itertools.chain([first], chunks) if first is not None else (), hasher)
            actual = hasher.hexdigest() if hasher is not None else None  # None: commit checks
        if actual is not None and actual != expected.hex:
            # The client may retry the PUT with the right digest: keep what earlier requests
            # sent, drop what this one appended.
            session.undo()
            raise DigestInvalid(
                f"content digest {expected.algorithm}:{actual} does not match {expected}",
                detail={"expected": str(expected), "actual": f"{expected.algorithm}:{actual}"},
            )
        size = session.commit(expected, verified=actual is not None)
        # Still in the session: a request waiting for it finds the upload gone (404),
        # never a half-finished state.
        with transaction.atomic():
            blob = blob_record(digest=str(expected), size=size)
            blob_link(repository=upload.repository, blob=blob)
            Upload.objects.filter(id=upload.id).delete()
    return blob


def upload_cancel(*, upload: Upload) -> None:
    """Forget the upload and free its bytes. Waits for a request appending to it, so that
    one finishes first and later ones find the upload gone."""
    blob_store().upload_abort(upload)


def blob_upload_monolithic(
    *,
    repository: Repository,
    chunks: Iterable[bytes],
    expected: Digest,
    declared_bytes: int | None = None,
    actor: str = "",
) -> Blob:
    """POST ?digest=: the whole blob in one request. Nothing is visible unless it verifies,
    and nothing is stored when its length would pass the quota."""
    upload = upload_start(repository=repository, declared_bytes=declared_bytes, actor=actor)
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


def upload_purge_stale(*, older_than: datetime.timedelta) -> int:
    """Cancel uploads untouched for `older_than` (clients that gave up); returns how many."""
    cutoff = timezone.now() - older_than
    stale = list(Upload.objects.filter(updated_at__lt=cutoff))
    for upload in stale:
        upload_cancel(upload=upload)
    return len(stale)


def orphan_multipart_abort(*, older_than: datetime.timedelta) -> int:
    """Abort multipart uploads no Upload row knows (an instance died between creating one
    and recording it); returns how many. Only object storage has any."""
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
        store.multipart_abort(upload_id, multipart)
    return len(orphans)
