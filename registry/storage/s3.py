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
to its key. Either way nothing is ever visible under a digest it does not have. The upload
session (lease, part writer) is in registry/storage/s3_uploads.py.

Blob GETs answer 307 to a presigned URL, or, with S3_REDIRECT off, stream the object (or
the requested range) through this process in fixed chunks.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError
from django.conf import settings
from django.http import HttpResponse, HttpResponseBase, StreamingHttpResponse
from storages.backends.s3 import S3Storage

from registry.digests import Digest, hasher_new
from registry.errors import BlobUnknown, BlobUploadUnknown, DigestInvalid
from registry.http import blob_range
from registry.models import Upload
from registry.storage.filesystem import BlobStore
from registry.storage.s3_uploads import PartWriter, S3UploadSession, upload_leased
from registry.storage.sessions import upload_forget

STREAM_CHUNK_BYTES = 1024 * 1024


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
    multipart = True  # upload sessions are S3 multipart uploads (registry/storage/s3_uploads.py)

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

    # garbage collection (registry/gc/) ------------------------------------------------------
    def blob_modified_at(self, digest: Digest):
        """When the blob's object was last written (None: no object)."""
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self.key(self.blob_key(digest)))
        except ClientError as error:
            if _status(error) == 404:
                return None
            raise
        return head["LastModified"]

    def blobs_delete(self, digests: list[Digest]) -> None:
        """One DeleteObjects request per 1,000 keys (a missing key is not an error)."""
        for start in range(0, len(digests), 1000):
            keys = [{"Key": self.key(self.blob_key(d))} for d in digests[start : start + 1000]]
            answer = self.client.delete_objects(
                Bucket=self.bucket, Delete={"Objects": keys, "Quiet": True}
            )
            if answer.get("Errors"):
                raise RuntimeError(f"S3 refused deletes: {answer['Errors'][:3]}")

    def blob_objects(self):
        """(digest, size, modified) of every committed blob object (one LIST per 1,000)."""
        prefix = self.key("blobs/")
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                algorithm, _, hex_ = item["Key"][len(prefix) :].split("/", 2)
                yield f"{algorithm}:{hex_}", item["Size"], item["LastModified"]

    def blob_redirect_url(self, digest: Digest) -> str | None:
        """A short-lived presigned GET, or None when redirects are switched off."""
        if not settings.S3_REDIRECT:
            return None
        return self._presign_client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": self.key(self.blob_key(digest))},
            ExpiresIn=settings.S3_PRESIGN_SECONDS,
        )

    def blob_response(
        self, digest: Digest, size: int, range_header: str | None, headers: dict
    ) -> HttpResponseBase:
        """GET of a blob: 307 to a presigned URL (the bucket serves the bytes and any Range),
        or with redirects off the object (or one Range of it) streamed in fixed chunks."""
        redirect_url = self.blob_redirect_url(digest)
        if redirect_url is not None:
            headers["Cache-Control"] = "no-store"  # the URL expires; the blob does not
            response = HttpResponse(status=307, headers={**headers, "Location": redirect_url})
            response.blob_bytes = size  # for metrics: bytes served on our behalf
            return response
        start, length, status = blob_range(range_header, size, headers)
        byte_range = (start, start + length - 1) if status == 206 else None
        try:
            chunks = self.blob_iter(digest, byte_range)
        except FileNotFoundError:
            raise BlobUnknown(f"blob {digest} is missing from storage") from None
        return StreamingHttpResponse(
            chunks, status=status, content_type="application/octet-stream", headers=headers
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

    def object_chunks(self, name: str) -> Iterator[bytes]:
        """The bytes of the object `name` (under the key prefix) in fixed chunks."""
        body = self.client.get_object(Bucket=self.bucket, Key=self.key(name))["Body"]
        return _closing_chunks(body)

    # uploads ------------------------------------------------------------------------------
    @staticmethod
    def upload_key(upload_id) -> str:
        return f"uploads/{upload_id}/data"

    def upload_create(self, upload_id) -> None:
        """Nothing yet: the multipart upload is created when the first full part is sent,
        and most blobs (configs, small layers) never need one."""

    @contextmanager
    def upload_session(self, upload: Upload):
        """Hold the upload's lease; yields its S3UploadSession (on a fresh row). Raises
        BlobUploadUnknown when the upload is gone (also when it finished while this request
        waited)."""
        with upload_leased(upload.id) as (current, renew):
            session = S3UploadSession(self, current, renew)
            try:
                yield session
            finally:
                session.close()

    def upload_abort(self, upload: Upload) -> None:
        """Abort the multipart upload and delete the session's objects. Waits for a request
        appending to it to finish, as the filesystem store's lock does."""
        try:
            with upload_leased(upload.id) as (current, _renew):
                upload_forget(self, current)
        except BlobUploadUnknown:
            pass  # already finished or cancelled

    def upload_commit(self, writer: PartWriter, digest: Digest, *, verified: bool) -> None:
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

    def upload_discard(self, upload: Upload) -> None:
        """Abort the upload's multipart upload and delete every object of the session."""
        self.multipart_abort(upload.id, upload.multipart_id)

    def multipart_abort(self, upload_id, multipart_id: str) -> None:
        """Abort a multipart upload (if any) and delete every object under uploads/<id>/."""
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
        self.upload_objects_delete(upload_id)

    def upload_objects_delete(self, upload_id) -> None:
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


def _closing_chunks(body) -> Iterator[bytes]:
    try:
        yield from body.iter_chunks(STREAM_CHUNK_BYTES)
    finally:
        body.close()


def _status(error: ClientError) -> int:
    return int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
