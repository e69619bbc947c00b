"""The filesystem content store (STORAGE_BACKEND=filesystem, the default).

Layout under the `registry` storage (Django's FileSystemStorage):
    blobs/<algorithm>/<first 2 hex>/<hex>     committed, content-addressed blobs
    uploads/<uuid>/data                        bytes of an upload session in progress

Uploads append to their own file and become visible only by an atomic rename onto the
content-addressed key, after the digest has been verified: a failed or interrupted
upload never leaves a readable blob behind.
"""

import fcntl
import os
import shutil
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path

from registry.digests import Digest, hasher_new
from registry.errors import BlobUploadUnknown

READ_CHUNK_BYTES = 1024 * 1024


class BlobStore:
    """Filesystem implementation over Django's FileSystemStorage (uses its `path()`)."""

    # Upload sessions are files appended in place (see registry/services/uploads.py);
    # object storage uses multipart uploads instead (registry/storage/s3.py).
    multipart = False
    serves_files = True  # blob GETs answer with a real file (sendfile)

    def __init__(self, storage):
        self.storage = storage

    # keys -------------------------------------------------------------------------------
    @staticmethod
    def blob_key(digest: Digest) -> str:
        return f"blobs/{digest.algorithm}/{digest.hex[:2]}/{digest.hex}"

    @staticmethod
    def upload_key(upload_id) -> str:
        return f"uploads/{upload_id}/data"

    def _path(self, key: str) -> Path:
        return Path(self.storage.path(key))

    def check(self) -> None:
        """Raise when the store cannot be written (used by /readyz)."""
        root = Path(self.storage.location)
        root.mkdir(parents=True, exist_ok=True)
        if not os.access(root, os.W_OK | os.X_OK):
            raise PermissionError(f"{root} is not writable")

    # committed blobs ----------------------------------------------------------------------
    def blob_exists(self, digest: Digest) -> bool:
        return self.storage.exists(self.blob_key(digest))

    def blob_open(self, digest: Digest):
        """A real file object (with fileno), so gunicorn can hand it to sendfile."""
        return open(self._path(self.blob_key(digest)), "rb")  # noqa: SIM115 - caller closes

    def blob_redirect_url(self, digest: Digest) -> str | None:
        return None  # served by this process (sendfile)

    def blob_delete(self, digest: Digest) -> None:
        self.storage.delete(self.blob_key(digest))

    # uploads ------------------------------------------------------------------------------
    def upload_create(self, upload_id) -> None:
        path = self._path(self.upload_key(upload_id))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()

    def upload_size(self, upload_id) -> int:
        return self._path(self.upload_key(upload_id)).stat().st_size

    @contextmanager
    def upload_locked(self, upload_id):
        """Open the upload for appending under an exclusive lock (one writer at a time,
        across threads and processes). Yields the file positioned at its end.

        Raises BlobUploadUnknown when the upload is gone, including when it was finished
        or cancelled while this request waited for the lock: the open handle would then
        point at a committed blob, which must never be written to.
        """
        path = self._path(self.upload_key(upload_id))
        try:
            handle = open(path, "r+b")  # noqa: SIM115 - closed below
        except FileNotFoundError:
            raise BlobUploadUnknown(f"upload {upload_id} unknown") from None
        with handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                if not self._still_at(path, handle):
                    raise BlobUploadUnknown(f"upload {upload_id} was finished or cancelled")
                handle.seek(0, os.SEEK_END)
                yield handle
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    @staticmethod
    def _still_at(path: Path, handle) -> bool:
        try:
            return os.stat(path).st_ino == os.fstat(handle.fileno()).st_ino
        except FileNotFoundError:
            return False

    @staticmethod
    def append(handle, chunks: Iterable[bytes], hasher) -> int:
        """Append chunks to an open upload, hashing as they go. On any failure the file is
        truncated back to where it was, so an interrupted chunk leaves nothing behind."""
        start = handle.tell()
        written = 0
        try:
            for chunk in chunks:
                handle.write(chunk)
                hasher.update(chunk)
                written += len(chunk)
            handle.flush()
        except BaseException:
            handle.truncate(start)
            raise
        return written

    def upload_hash(self, upload_id, algorithm: str):
        """Re-hash the bytes received so far (used when another process received them)."""
        hasher = hasher_new(algorithm)
        try:
            handle = open(self._path(self.upload_key(upload_id)), "rb")  # noqa: SIM115
        except FileNotFoundError:
            raise BlobUploadUnknown(f"upload {upload_id} unknown") from None
        with handle:
            while chunk := handle.read(READ_CHUNK_BYTES):
                hasher.update(chunk)
        return hasher

    def upload_commit(self, upload_id, digest: Digest) -> None:
        """Make the upload's bytes the blob `digest`: one atomic rename."""
        source = self._path(self.upload_key(upload_id))
        target = self._path(self.blob_key(digest))
        if target.exists():  # content-addressed: identical bytes are already there
            source.unlink(missing_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, target)
        self.upload_discard(upload_id)

    def upload_discard(self, upload_id) -> None:
        shutil.rmtree(self._path(self.upload_key(upload_id)).parent, ignore_errors=True)
