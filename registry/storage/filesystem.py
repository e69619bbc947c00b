"""The filesystem content store (STORAGE_BACKEND=filesystem, the default).

Layout under the `registry` storage (Django's FileSystemStorage):
    blobs/<algorithm>/<first 2 hex>/<hex>     committed, content-addressed blobs
    uploads/<uuid>/data                        bytes of an upload session in progress

Uploads append to their own file and become visible only by an atomic rename onto the
content-addressed key, after the digest has been verified: a failed or interrupted
upload never leaves a readable blob behind. One request at a time holds an upload's file
lock (`upload_session`, registry/storage/sessions.py), across threads and processes.

Blob GETs answer with the open file (`blob_response`): gunicorn hands it to sendfile(2),
also for a Range, so no Python loop copies blob bytes.
"""

import datetime
import fcntl
import os
import shutil
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path

from django.http import FileResponse, HttpResponseBase
from django.utils import timezone

from registry.digests import Digest, hasher_new
from registry.errors import BlobUnknown, BlobUploadInvalid, BlobUploadUnknown
from registry.http import blob_range
from registry.models import Upload
from registry.storage.hashers import hasher_cache
from registry.storage.sessions import UploadSession, upload_forget

READ_CHUNK_BYTES = 1024 * 1024


class BlobStore:
    """Filesystem implementation over Django's FileSystemStorage (uses its `path()`)."""

    multipart = False  # no multipart uploads to abort (purgeuploads reports them on S3)

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

    def blob_response(
        self, digest: Digest, size: int, range_header: str | None, headers: dict
    ) -> HttpResponseBase:
        """GET of a blob (or of one Range of it): the open file, limited to the range, so
        gunicorn sends it with sendfile (it sends Content-Length bytes from the offset)."""
        start, length, status = blob_range(range_header, size, headers)
        try:
            handle = self.blob_open(digest)
        except FileNotFoundError:
            raise BlobUnknown(f"blob {digest} is missing from storage") from None
        handle.seek(start)
        return FileResponse(
            RangeFile(handle, length),
            status=status,
            content_type="application/octet-stream",
            headers=headers,
        )

    def blob_delete(self, digest: Digest) -> None:
        self.storage.delete(self.blob_key(digest))

    # garbage collection (registry/gc/) ------------------------------------------------------
    def blob_modified_at(self, digest: Digest):
        """When the blob's object was last written (None: no object)."""
        try:
            mtime = self._path(self.blob_key(digest)).stat().st_mtime
        except FileNotFoundError:
            return None
        return datetime.datetime.fromtimestamp(mtime, datetime.UTC)

    def blobs_delete(self, digests: list[Digest]) -> None:
        for digest in digests:
            self.blob_delete(digest)  # a missing file is not an error (FileSystemStorage)

    def blob_objects(self):
        """(digest, size, modified) of every committed blob object, in no set order."""
        root = self._path("blobs")
        if not root.is_dir():
            return
        for algorithm in os.scandir(root):
            for prefix in os.scandir(algorithm.path):
                for entry in os.scandir(prefix.path):
                    stat = entry.stat()
                    modified = datetime.datetime.fromtimestamp(stat.st_mtime, datetime.UTC)
                    yield f"{algorithm.name}:{entry.name}", stat.st_size, modified

    # uploads ------------------------------------------------------------------------------
    def upload_create(self, upload_id) -> None:
        path = self._path(self.upload_key(upload_id))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()

    def upload_size(self, upload_id) -> int:
        return self._path(self.upload_key(upload_id)).stat().st_size

    @contextmanager
    def upload_session(self, upload: Upload):
        """Hold the upload's file lock; yields its FileUploadSession. Raises
        BlobUploadUnknown when the upload is gone (also when it finished or was cancelled
        while this request waited)."""
        with self.upload_locked(upload.id) as handle:
            yield FileUploadSession(self, upload, handle)

    def upload_abort(self, upload: Upload) -> None:
        """Forget the upload and free its bytes. Takes the lock, so a chunk being appended
        finishes first and later requests find the upload gone."""
        try:
            with self.upload_locked(upload.id):
                upload_forget(self, upload)
        except BlobUploadUnknown:  # its file is already gone: still drop the row
            upload_forget(self, upload)

    def multipart_uploads_started_before(self, cutoff) -> list[tuple[str, str]]:
        return []  # appended in place: nothing can be orphaned outside uploads/<uuid>/

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
        self._upload_dir_delete(upload_id)

    def upload_discard(self, upload: Upload) -> None:
        self._upload_dir_delete(upload.id)

    def _upload_dir_delete(self, upload_id) -> None:
        shutil.rmtree(self._path(self.upload_key(upload_id)).parent, ignore_errors=True)


class FileUploadSession(UploadSession):
    """An upload appended in place to uploads/<uuid>/data, under its file lock."""

    def __init__(self, store: BlobStore, upload: Upload, handle):
        self.handle = handle
        self._recover(upload)
        super().__init__(store, upload)

    def _recover(self, upload: Upload) -> None:
        """Load the size the database recorded, which every successful request writes
        before it lets go of the lock. Bytes past it in the file come from a request that
        died mid-write (kill -9 skips its clean-up): they are cut off, so the client resumes
        from the offset the upload's status advertised. Refreshes `upload`."""
        row = Upload.objects.filter(id=upload.id).values("size", "sha256_so_far").first()
        if row is None:
            raise BlobUploadUnknown(f"upload {upload.id} unknown")
        upload.size, upload.sha256_so_far = row["size"], row["sha256_so_far"]
        on_disk = self.handle.tell()
        if on_disk > upload.size:
            self.handle.truncate(upload.size)
            self.handle.seek(upload.size)
            hasher_cache.drop(upload.id)  # its state may include the cut-off bytes
        elif on_disk < upload.size:
            raise BlobUploadInvalid(
                f"upload {upload.id} lost bytes on disk ({on_disk} of {upload.size}); start again"
            )

    def _rehash(self, algorithm: str):
        return self.store.upload_hash(self.upload.id, algorithm)

    def _append(self, chunks: Iterable[bytes], hasher) -> int:
        return self.store.append(self.handle, chunks, hasher)

    def _undo(self) -> None:
        self.handle.truncate(self.size)
        self.handle.seek(self.size)

    def _record(self) -> None:
        recorded = Upload.objects.filter(id=self.upload.id).update(
            size=self.upload.size,
            sha256_so_far=self.upload.sha256_so_far,
            updated_at=timezone.now(),
        )
        if not recorded:  # cancelled under us (cancel takes the lock, so only by a crash)
            raise BlobUploadUnknown(f"upload {self.upload.id} unknown")

    def _commit(self, digest: Digest, *, verified: bool) -> None:
        # Still under the lock: a request waiting for it finds the upload gone (404),
        # never a half-finished state.
        if not verified:
            raise ValueError("the filesystem store always knows the running hash")
        self.store.upload_commit(self.upload.id, digest)


class RangeFile:
    """A file limited to `length` bytes from its current position. It keeps `fileno()`,
    so gunicorn still uses sendfile (it sends Content-Length bytes from the offset)."""

    def __init__(self, handle, length: int):
        self._handle, self._remaining = handle, length

    def read(self, size: int = -1) -> bytes:
        if self._remaining <= 0:
            return b""
        size = self._remaining if size < 0 else min(size, self._remaining)
        data = self._handle.read(size)
        self._remaining -= len(data)
        return data

    def fileno(self) -> int:
        return self._handle.fileno()

    def close(self) -> None:
        self._handle.close()
