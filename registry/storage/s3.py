"""The object-storage content store (STORAGE_BACKEND=s3): AWS S3 or any S3-compatible store.

Keys, under the AWS_LOCATION prefix:
    blobs/<algorithm>/<2 hex>/<hex>      committed blobs, content-addressed
    uploads/<uuid>/data                  the multipart upload of a session in progress
    uploads/<uuid>/tail-<offset>         bytes received after the last full part

An upload session is an S3 multipart upload plus a *tail*. Parts other than the last must
be at least 5 MiB, so bytes that do not fill a part yet are kept as a small object of their
own. The Upload row records the multipart UploadId, the parts with their ETags and the tail
key, so any instance can continue an upload: it downloads the tail into its local part
buffer (at most one part, on disk) and appends. Finishing completes the multipart upload at
uploads/<uuid>/data and copies it server-side to its content-addressed key only once the
digest is verified; a blob smaller than one part is verified locally and written straight
to its key. Either way nothing is ever visible under a digest it does not have.
"""

import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from functools import cached_property

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError
from django.conf import settings
from storages.backends.s3 import S3Storage

from registry.digests import Digest, hasher_new
from registry.errors import DigestInvalid
from registry.storage.filesystem import BlobStore
from registry.storage.upload_state import UploadState

STREAM_CHUNK_BYTES = 1024 * 1024
MIN_PART_BYTES = 5 * 1024 * 1024  # S3's minimum for every part but the last
# How often a long write renews its lease on the upload (see services/object_uploads.py).
LEASE_RENEW_SECONDS = 30


class BlobObjectStorage(S3Storage):
    """django-storages' S3 backend with a client configured for registry traffic."""

    is_object_storage = True

    def __init__(self, **options):
        options.setdefault(
            "client_config",
            Config(
                s3={"addressing_style": options.get("addressing_style") or "auto"},
                signature_version="s3v4",
                # Checksums only where S3 demands them: several S3-compatible stores (older
                # MinIO, Ceph) reject the CRC32 trailers boto3 sends by default since 1.36.
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
                retries={"max_attempts": 5, "mode": "standard"},
                max_pool_connections=32,  # gunicorn threads per worker, with room
                connect_timeout=5,
                read_timeout=60,
            ),
        )
        super().__init__(**options)


class S3BlobStore:
    multipart = True  # upload sessions are S3 multipart uploads (services/object_uploads.py)
    serves_files = False  # blobs are redirected to or streamed from the bucket

    def __init__(self, storage: BlobObjectStorage):
        self.storage = storage

    # keys and clients ---------------------------------------------------------------------
    blob_key = staticmethod(BlobStore.blob_key)

    def key(self, name: str) -> str:
        prefix = (self.storage.location or "").strip("/")
        return f"{prefix}/{name}" if prefix else name

    @property
    def bucket(self) -> str:
        return self.storage.bucket_name

    @property
    def client(self):
        return self.storage.connection.meta.client  # one per thread (django-storages)

    def _new_client(self, endpoint_url: str | None, config: Config | None = None):
        storage = self.storage
        session = boto3.session.Session(
            aws_access_key_id=storage.access_key or None,
            aws_secret_access_key=storage.secret_key or None,
            aws_session_token=storage.security_token or None,
        )
        return session.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=storage.region_name,
            config=storage.client_config.merge(config) if config else storage.client_config,
        )

    @cached_property
    def _presign_client(self):
        """Presigned URLs carry the host they were signed for: sign with the endpoint
        clients reach (S3_PUBLIC_ENDPOINT_URL) when it differs from the one we use."""
        public = settings.S3_PUBLIC_ENDPOINT_URL
        return self._new_client(public) if public else self.client

    @cached_property
    def _probe_client(self):
        """Fails in seconds, without retries: readiness must answer before the probe's
        own timeout."""
        return self._new_client(
            self.storage.endpoint_url,
            Config(connect_timeout=2, read_timeout=3, retries={"max_attempts": 1}),
        )

    def check(self) -> None:
        """Raise when the bucket cannot be reached (used by /readyz)."""
        self._probe_client.head_bucket(Bucket=self.bucket)

    # committed blobs ----------------------------------------------------------------------
    def blob_exists(self, digest: Digest) -> bool:
        return self._exists(self.key(self.blob_key(digest)))

    def _exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if _status(error) == 404:
                return False
            raise
        return True

    def blob_delete(self, digest: Digest) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.key(self.blob_key(digest)))

    def blob_redirect_url(self, digest: Digest) -> str | None:
        """A short-lived presigned GET, or None when redirects are switched off."""
        if not settings.S3_REDIRECT:
            return None
        return self._presign_client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": self.key(self.blob_key(digest))},
            ExpiresIn=settings.S3_PRESIGN_SECONDS,
        )

    def blob_iter(self, digest: Digest, byte_range: tuple[int, int] | None) -> Iterator[bytes]:
        """The blob's bytes (or one inclusive range) in fixed chunks: constant memory.
        Raises FileNotFoundError when the object is missing."""
        params = {"Bucket": self.bucket, "Key": self.key(self.blob_key(digest))}
        if byte_range is not None:
            params["Range"] = f"bytes={byte_range[0]}-{byte_range[1]}"
        try:
            body = self.client.get_object(**params)["Body"]
        except ClientError as error:
            if _status(error) == 404:
                raise FileNotFoundError(params["Key"]) from None
            raise
        return _closing_chunks(body)

    # uploads ------------------------------------------------------------------------------
    @staticmethod
    def upload_key(upload_id) -> str:
        return f"uploads/{upload_id}/data"

    def part_writer(self, upload_id, state: UploadState, renew: Callable[[], None]):
        return PartWriter(self, upload_id, state, renew)

    def upload_commit(self, writer: "PartWriter", digest: Digest, *, verified: bool) -> None:
        """Make the upload's bytes the blob `digest`. `verified` says the caller already
        compared the digest; otherwise the completed object is hashed first, and a mismatch
        raises DigestInvalid after deleting it (the multipart upload is then used up)."""
        target = self.key(self.blob_key(digest))
        if not writer.parts:  # smaller than one part: the whole blob is in the buffer
            if not verified:
                raise ValueError("a single-part upload is verified from its buffer")
            if not self._exists(target):
                writer.put_buffer(target)
            return
        staging = writer.complete()
        try:
            if not verified:
                actual = self._hash_object(staging, digest.algorithm)
                if actual != digest.hex:
                    raise DigestInvalid(
                        f"content digest {digest.algorithm}:{actual} does not match {digest}",
                        detail={"expected": str(digest), "actual": f"{digest.algorithm}:{actual}"},
                    )
            if not self._exists(target):  # content-addressed: identical bytes are there
                self.client.copy(
                    {"Bucket": self.bucket, "Key": staging},
                    self.bucket,
                    target,
                    # One server-side CopyObject up to 4 GiB; bigger blobs are copied in
                    # parallel parts (CopyObject stops at 5 GB).
                    Config=TransferConfig(
                        multipart_threshold=4 * 1024**3, multipart_chunksize=512 * 1024**2
                    ),
                )
        finally:
            self.client.delete_object(Bucket=self.bucket, Key=staging)

    def _hash_object(self, key: str, algorithm: str) -> str:
        hasher = hasher_new(algorithm)
        body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
        for chunk in _closing_chunks(body):
            hasher.update(chunk)
        return hasher.hexdigest()

    def upload_discard(self, upload_id, multipart_id: str = "") -> None:
        """Abort the multipart upload and delete every object of the session."""
        if multipart_id:
            try:
                self.client.abort_multipart_upload(
                    Bucket=self.bucket,
                    Key=self.key(self.upload_key(upload_id)),
                    UploadId=multipart_id,
                )
            except ClientError as error:
                if _status(error) != 404:  # NoSuchUpload: already completed or aborted
                    raise
        self._delete_prefix(self.key(f"uploads/{upload_id}/"))

    def tail_delete(self, tail_key: str) -> None:
        if tail_key:
            self.client.delete_object(Bucket=self.bucket, Key=self.key(tail_key))

    def _delete_prefix(self, prefix: str) -> None:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if keys:
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": keys})

    def multipart_uploads_started_before(self, cutoff) -> list[tuple[str, str]]:
        """(upload id, multipart id) of multipart uploads under uploads/ older than
        `cutoff`: purgeuploads aborts those no Upload row knows (an instance died)."""
        found = []
        paginator = self.client.get_paginator("list_multipart_uploads")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.key("uploads/")):
            for item in page.get("Uploads", []):
                if item["Initiated"] < cutoff:
                    upload_id = item["Key"].rsplit("/", 2)[-2]
                    found.append((upload_id, item["UploadId"]))
        return found


class PartWriter:
    """Appends bytes to an upload through a local part buffer (a temporary file of at most
    one part): full parts go to the multipart upload as they fill, the rest is saved as the
    tail when the request ends. Until `saved()` nothing it did is recorded, so a request
    that fails leaves the upload as it was (its stray parts are overwritten or ignored)."""

    def __init__(self, store: S3BlobStore, upload_id, state: UploadState, renew):
        self.store, self.upload_id, self.initial = store, upload_id, state
        self.size, self.multipart_id, self.parts = state.size, state.multipart_id, list(state.parts)
        self._renew, self._renewed = renew, time.monotonic()
        self.part_bytes = max(settings.S3_PART_BYTES, MIN_PART_BYTES)
        self.buffer = tempfile.TemporaryFile(  # noqa: SIM115 - closed in close()
            dir=settings.REGISTRY_UPLOAD_BUFFER_DIR or None
        )
        self.buffered = 0
        if state.tail_key:
            body = store.client.get_object(Bucket=store.bucket, Key=store.key(state.tail_key))
            for chunk in _closing_chunks(body["Body"]):
                self.buffer.write(chunk)
            self.buffered = self.buffer.tell()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.buffer.close()

    def buffer_hasher(self, algorithm: str):
        """A hasher over the buffered bytes: the whole upload so far when no part has been
        sent yet, so an instance that did not see those bytes can still hash them."""
        assert not self.parts
        hasher = hasher_new(algorithm)
        self.buffer.seek(0)
        while chunk := self.buffer.read(STREAM_CHUNK_BYTES):
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


def _closing_chunks(body) -> Iterator[bytes]:
    try:
        yield from body.iter_chunks(STREAM_CHUNK_BYTES)
    finally:
        body.close()


def _status(error: ClientError) -> int:
    return int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
