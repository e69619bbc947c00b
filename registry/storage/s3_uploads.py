"""Upload sessions on object storage (STORAGE_BACKEND=s3): an S3 multipart upload plus a
tail object, continued by any instance (the layout is in registry/storage/s3.py).

One request at a time appends to an upload, across instances: it holds a lease on the
Upload row (renewed while it streams; it lapses if its holder dies). The row is the
upload's whole state (multipart id, parts, tail, size), updated only when a request
succeeds, so a failed or cut-off request leaves the upload where it was.

The running sha256 cannot be saved (hashlib state is opaque), so a request on a process
that did not see the previous bytes continues without it: while no part has been sent the
buffer holds every byte and is re-hashed locally; after that, the digest is verified by
reading the completed object back from the bucket once, at commit.
"""

import tempfile
import time
import uuid
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from registry.digests import Digest, hasher_new
from registry.errors import BlobUploadUnknown
from registry.models import Upload
from registry.storage.sessions import UploadSession
from registry.storage.upload_state import UploadState

LEASE = timedelta(minutes=2)
LEASE_POLL_SECONDS = 0.05
LEASE_RENEW_SECONDS = 30  # how often a long write renews its lease
MIN_PART_BYTES = 5 * 1024 * 1024  # S3's minimum for every part but the last
BUFFER_READ_BYTES = 1024 * 1024


@contextmanager
def upload_leased(upload_id):
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


class S3UploadSession(UploadSession):
    """An upload under its lease. The part writer (which downloads the tail) is made when
    the request first needs the bytes, so a refused chunk costs no download."""

    def __init__(self, store, upload: Upload, renew: Callable[..., None]):
        super().__init__(store, upload)
        self._renew = renew
        self._writer: PartWriter | None = None

    @property
    def writer(self) -> "PartWriter":
        if self._writer is None:
            self._writer = PartWriter(self.store, self.upload, self._renew_and_note)
        return self._writer

    def _renew_and_note(self, multipart_id: str = "") -> None:
        self._renew(multipart_id)
        if multipart_id:  # recorded at once: cancel (or a failed read-back) aborts it
            self.upload.multipart_id = multipart_id

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def _rehash(self, algorithm: str):
        if self.upload.parts:
            return None  # the bytes are in parts: verified by reading back at commit
        return self.writer.buffer_hasher(algorithm)

    def _append(self, chunks: Iterable[bytes], hasher) -> int:
        return self.writer.write(chunks, hasher)

    def _undo(self) -> None:
        # Nothing of this request is recorded: its stray parts are overwritten by the
        # resent chunk or left out of the completion. Start again from the recorded state.
        self.close()

    def _record(self) -> None:
        upload, previous_tail = self.upload, self.upload.tail_key
        state = self.writer.saved()
        upload.multipart_id, upload.parts, upload.tail_key = (
            state.multipart_id,
            state.parts,
            state.tail_key,
        )
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
        if previous_tail != upload.tail_key:  # the old tail is no longer needed
            self.store.tail_delete(previous_tail)

    def _commit(self, digest: Digest, *, verified: bool) -> None:
        self.store.upload_commit(self.writer, digest, verified=verified)
        self.store.upload_objects_delete(self.upload.id)  # tails; the multipart is complete


class PartWriter:
    """Appends bytes to an upload through a local part buffer (a temporary file of at most
    one part): full parts go to the multipart upload as they fill, the rest is saved as the
    tail when the request ends. Until `saved()` nothing it did is recorded, so a request
    that fails leaves the upload as it was (its stray parts are overwritten or ignored)."""

    def __init__(self, store, upload: Upload, renew: Callable[..., None]):
        state = UploadState(upload.size, upload.multipart_id, list(upload.parts), upload.tail_key)
        self.store, self.upload_id, self.initial = store, upload.id, state
        self.size, self.multipart_id, self.parts = state.size, state.multipart_id, list(state.parts)
        self._renew, self._renewed = renew, time.monotonic()
        self.part_bytes = max(settings.S3_PART_BYTES, MIN_PART_BYTES)
        self.buffer = tempfile.TemporaryFile(  # noqa: SIM115 - closed in close()
            dir=settings.REGISTRY_UPLOAD_BUFFER_DIR or None
        )
        self.buffered = 0
        if state.tail_key:
            for chunk in store.object_chunks(state.tail_key):
                self.buffer.write(chunk)
            self.buffered = self.buffer.tell()

    def close(self) -> None:
        self.buffer.close()

    def buffer_hasher(self, algorithm: str):
        """A hasher over the buffered bytes: the whole upload so far when no part has been
        sent yet, so an instance that did not see those bytes can still hash them."""
        assert not self.parts
        hasher = hasher_new(algorithm)
        self.buffer.seek(0)
        while chunk := self.buffer.read(BUFFER_READ_BYTES):
            hasher.update(chunk)
        return hasher

    def write(self, chunks: Iterable[bytes], hasher) -> int:
        """Append chunks, hashing them when a hasher is given. Returns the bytes written."""
        written = 0
        self.buffer.seek(self.buffered)
        for chunk in chunks:
            if hasher is not None:
                hasher.update(chunk)
            written += len(chunk)
            view = memoryview(chunk)
            while view:
                room = self.part_bytes - self.buffered
                self.buffer.write(view[:room])
                self.buffered += min(room, len(view))
                view = view[room:]
                if self.buffered == self.part_bytes:
                    self._send_part()
            if time.monotonic() - self._renewed > LEASE_RENEW_SECONDS:
                self._renew()
                self._renewed = time.monotonic()
        self.size += written
        return written

    def _send_part(self) -> None:
        store = self.store
        key = store.key(store.upload_key(self.upload_id))
        if not self.multipart_id:
            created = store.client.create_multipart_upload(Bucket=store.bucket, Key=key)
            self.multipart_id = created["UploadId"]
            self._renew(multipart_id=self.multipart_id)  # recorded at once: cancel aborts it
        number = len(self.parts) + 1
        self.buffer.seek(0)
        self.buffer.truncate(self.buffered)
        answer = store.client.upload_part(
            Bucket=store.bucket,
            Key=key,
            UploadId=self.multipart_id,
            PartNumber=number,
            Body=self.buffer,
            ContentLength=self.buffered,
        )
        self.parts.append({"PartNumber": number, "ETag": answer["ETag"], "Size": self.buffered})
        self.buffer.seek(0)
        self.buffer.truncate(0)
        self.buffered = 0

    def saved(self) -> UploadState:
        """Store the buffered rest as the new tail; returns the state to record."""
        if self.size == self.initial.size:
            return self.initial
        tail_key = ""
        if self.buffered:
            tail_key = f"uploads/{self.upload_id}/tail-{self.size}"
            self.put_buffer(self.store.key(tail_key))
        return UploadState(self.size, self.multipart_id, self.parts, tail_key)

    def put_buffer(self, key: str) -> None:
        self.buffer.seek(0)
        self.buffer.truncate(self.buffered)
        self.store.client.put_object(
            Bucket=self.store.bucket, Key=key, Body=self.buffer, ContentLength=self.buffered
        )

    def complete(self) -> str:
        """Send the buffered rest as the last part and complete the multipart upload;
        returns the key of the completed object (uploads/<uuid>/data)."""
        if self.buffered:
            self._send_part()  # the last part may be smaller than 5 MiB
        store = self.store
        key = store.key(store.upload_key(self.upload_id))
        store.client.complete_multipart_upload(
            Bucket=store.bucket,
            Key=key,
            UploadId=self.multipart_id,
            MultipartUpload={
                "Parts": [{"PartNumber": p["PartNumber"], "ETag": p["ETag"]} for p in self.parts]
            },
        )
        return key
