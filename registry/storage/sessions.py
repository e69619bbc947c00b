"""Upload sessions: one request's exclusive hold on a blob upload, the same on every store.

`store.upload_session(upload)` is a context manager. It takes the hold (the filesystem
store's file lock, the S3 store's lease on the Upload row: one request at a time per
upload, across processes and instances), loads the upload as the last successful request
recorded it, and yields an `UploadSession`. `registry/services/uploads.py` drives it the
same way on both stores:

    size                    the bytes received so far, as recorded
    recorded_sha256         the sha256 of those bytes, when it was known ("" otherwise)
    hasher(algorithm)       the running hash at `size`, or None when it is unknown here
    append(chunks, hasher)  write this request's bytes, hashing them; returns how many
    undo()                  drop what this request appended (earlier bytes stay)
    record(hasher)          record a successful append, so any instance continues from it
    commit(digest, verified=)  make the bytes the blob `digest`; returns its size
    discard()               forget the upload: its bytes, its row, its cached hash

Nothing a request does is visible to the next one until `record` or `commit`: a request
that fails or is cut off leaves the upload as it was. A backend implements the steps that
differ (`_rehash`, `_append`, `_undo`, `_record`, `_commit`, `store.upload_discard`).
"""

from collections.abc import Iterable

from registry.digests import Digest
from registry.errors import DigestInvalid
from registry.models import Upload
from registry.storage.hashers import hasher_cache


class UploadSession:
    def __init__(self, store, upload: Upload):
        self.store = store
        self.upload = upload  # as recorded; `record` brings it up to date
        self.received = upload.size  # including what this request appended

    @property
    def size(self) -> int:
        return self.upload.size

    @property
    def recorded_sha256(self) -> str:
        return self.upload.sha256_so_far

    def hasher(self, algorithm: str):
        """The hash of the bytes so far, ready to continue: the one this process kept (sha256
        only) or the bytes re-hashed where the store can re-read them. None when it cannot
        (S3 after parts were sent): then `commit` verifies the digest itself."""
        if algorithm == "sha256":
            cached = hasher_cache.take(self.upload.id, self.size)
            if cached is not None:
                return cached
        return self._rehash(algorithm)

    def append(self, chunks: Iterable[bytes], hasher) -> int:
        written = self._append(chunks, hasher)
        self.received += written
        return written

    def undo(self) -> None:
        """Drop what this request appended; the client may resend it."""
        hasher_cache.drop(self.upload.id)  # it may have hashed the dropped bytes
        self._undo()
        self.received = self.size

    def record(self, hasher) -> None:
        """Record a successful append. Raises BlobUploadUnknown when the upload was
        cancelled meanwhile."""
        self.upload.size = self.received
        self.upload.sha256_so_far = hasher.hexdigest() if hasher is not None else ""
        self._record()
        if hasher is not None:
            hasher_cache.put(self.upload.id, self.size, hasher)

    def commit(self, digest: Digest, *, verified: bool) -> int:
        """Make the bytes the blob `digest` (content-addressed: bytes already stored under it
        stay); returns its size. `verified` says the caller compared the digest; otherwise
        the store does, and a mismatch raises DigestInvalid after the upload is discarded
        (its bytes were used up by the check)."""
        try:
            self._commit(digest, verified=verified)
        except DigestInvalid:
            self.discard()
            raise
        finally:
            hasher_cache.drop(self.upload.id)
        return self.received

    def discard(self) -> None:
        upload_forget(self.store, self.upload)

    # what each store implements --------------------------------------------------------
    def _rehash(self, algorithm: str):
        raise NotImplementedError

    def _append(self, chunks: Iterable[bytes], hasher) -> int:
        raise NotImplementedError

    def _undo(self) -> None:
        raise NotImplementedError

    def _record(self) -> None:
        raise NotImplementedError

    def _commit(self, digest: Digest, *, verified: bool) -> None:
        raise NotImplementedError


def upload_forget(store, upload: Upload) -> None:
    """Drop every trace of an upload: its cached hash, its bytes in storage, its row (last,
    so an upload whose bytes could not be freed is still found by `purgeuploads`)."""
    hasher_cache.drop(upload.id)
    store.upload_discard(upload)
    Upload.objects.filter(id=upload.id).delete()
