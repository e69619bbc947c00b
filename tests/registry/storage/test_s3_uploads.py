"""The chunked-upload scenarios of tests/registry/test_upload_chunked.py, again with the
registry storage on S3 (a moto server on loopback): multipart parts, the tail object, the
lease, cold processes, and what is left in the bucket afterwards."""

import hashlib
import os
import uuid
from datetime import timedelta

import pytest
import requests
from django.core.management import call_command
from django.utils import timezone

from registry.models import Blob, RepositoryBlob, Upload
from registry.storage import hasher_cache
from registry.storage.s3 import S3BlobStore
from tests.support.moto import MIB
from tests.support.uploads import blob_key, finish, patch, sha256, start, upload_in_chunks

pytestmark = pytest.mark.django_db


def upload_id_of(location: str) -> str:
    return location.rsplit("/", 1)[1]


def pull_redirected(client, repo: str, digest: str) -> bytes:
    """GET the blob: distr answers 307 to a presigned URL; fetch that like a client."""
    response = client.get(f"/v2/{repo}/blobs/{digest}")
    assert response.status_code == 307, response.content
    assert response["Docker-Content-Digest"] == digest
    fetched = requests.get(response["Location"], timeout=30)
    assert fetched.status_code == 200
    return fetched.content


def assert_nothing_pending(moto, bucket: str) -> None:
    assert moto.keys(bucket, "uploads/") == []
    assert moto.multipart_uploads(bucket) == []


def test_small_chunks_then_put_without_body(client, repo_name, moto, s3_bucket):
    chunks = [os.urandom(1000), os.urandom(2500), os.urandom(17)]
    data = b"".join(chunks)
    digest = sha256(data)
    location = upload_in_chunks(client, repo_name, chunks)
    upload = Upload.objects.get(id=upload_id_of(location))
    # Less than a part: no multipart upload yet, the bytes wait in the tail object.
    assert (upload.size, upload.multipart_id, upload.parts) == (len(data), "", [])
    assert moto.keys(s3_bucket, "uploads/") == [upload.tail_key]
    assert moto.read(s3_bucket, upload.tail_key) == data
    assert upload.sha256_so_far == digest.split(":")[1]

    response = finish(client, location, digest)
    assert response.status_code == 201, response.content
    assert response["Docker-Content-Digest"] == digest
    assert moto.keys(s3_bucket) == [blob_key(digest)]
    assert moto.read(s3_bucket, blob_key(digest)) == data
    assert_nothing_pending(moto, s3_bucket)
    assert not Upload.objects.filter(id=upload.id).exists()
    assert RepositoryBlob.objects.filter(repository__name=repo_name, blob_id=digest).count() == 1
    assert pull_redirected(client, repo_name, digest) == data


def test_multi_part_upload_across_chunk_boundaries(client, repo_name, moto, s3_bucket):
    data = os.urandom(12 * MIB + 5)
    digest = sha256(data)
    chunks = [data[i : i + 3 * MIB] for i in range(0, len(data), 3 * MIB)]
    location = upload_in_chunks(client, repo_name, chunks)
    upload = Upload.objects.get(id=upload_id_of(location))
    assert [(p["PartNumber"], p["Size"]) for p in upload.parts] == [(1, 5 * MIB), (2, 5 * MIB)]
    assert upload.multipart_id
    (pending,) = moto.multipart_uploads(s3_bucket)
    assert (pending["UploadId"], pending["Key"]) == (
        upload.multipart_id,
        f"uploads/{upload.id}/data",
    )
    assert moto.read(s3_bucket, upload.tail_key) == data[10 * MIB :]

    response = finish(client, location, digest)
    assert response.status_code == 201, response.content
    assert moto.read(s3_bucket, blob_key(digest)) == data
    assert_nothing_pending(moto, s3_bucket)
    assert Blob.objects.get(digest=digest).size == len(data)
    assert pull_redirected(client, repo_name, digest) == data


def test_put_with_the_last_chunk_and_a_part_boundary_exactly(client, repo_name, moto, s3_bucket):
    data = os.urandom(10 * MIB)  # two full parts, nothing left for a last part
    location = upload_in_chunks(client, repo_name, [data[: 7 * MIB]])
    response = finish(client, location, sha256(data), data[7 * MIB :])
    assert response.status_code == 201, response.content
    assert moto.read(s3_bucket, blob_key(sha256(data))) == data
    assert_nothing_pending(moto, s3_bucket)


def test_monolithic_post_of_several_parts(client, repo_name, moto, s3_bucket):
    data = os.urandom(11 * MIB)
    digest = sha256(data)
    response = client.post(
        f"/v2/{repo_name}/blobs/uploads/?digest={digest}",
        data=data,
        content_type="application/octet-stream",
    )
    assert response.status_code == 201, response.content
    assert moto.read(s3_bucket, blob_key(digest)) == data
    assert_nothing_pending(moto, s3_bucket)


def test_empty_blob_and_sha512(client, repo_name, moto, s3_bucket):
    empty = sha256(b"")
    assert finish(client, start(client, repo_name)[0], empty).status_code == 201
    assert moto.read(s3_bucket, blob_key(empty)) == b""

    data = os.urandom(6 * MIB)
    digest = f"sha512:{hashlib.sha512(data).hexdigest()}"
    location = upload_in_chunks(client, repo_name, [data[:MIB], data[MIB : 4 * MIB]])
    response = finish(client, location, digest, data[4 * MIB :])
    assert response.status_code == 201, response.content
    assert moto.read(s3_bucket, blob_key(digest)) == data
    assert_nothing_pending(moto, s3_bucket)


def test_wrong_digest_on_a_warm_process_keeps_the_upload_for_a_retry(
    client, repo_name, moto, s3_bucket
):
    data = os.urandom(6 * MIB)
    location = upload_in_chunks(client, repo_name, [data])
    wrong = sha256(b"something else")

    response = finish(client, location, wrong, b"extra")
    assert response.status_code == 400
    assert [e["code"] for e in response.json()["errors"]] == ["DIGEST_INVALID"]
    assert moto.keys(s3_bucket, "blobs/") == []
    assert Upload.objects.get(id=upload_id_of(location)).size == len(data)

    # The cache lost its hasher with the failed PUT: this one verifies the hard way.
    response = finish(client, location, sha256(data))
    assert response.status_code == 201, response.content
    assert moto.read(s3_bucket, blob_key(sha256(data))) == data
    assert_nothing_pending(moto, s3_bucket)


def test_cold_process_verifies_by_reading_the_completed_object(
    client, repo_name, moto, s3_bucket, monkeypatch
):
    """Another instance continues after parts were sent: the running hash is not there, so
    the digest is checked on the completed object before it gets its key."""
    data = os.urandom(8 * MIB)
    location = upload_in_chunks(client, repo_name, [data[: 6 * MIB]])
    upload_id = uuid.UUID(upload_id_of(location))
    assert hasher_cache.take(upload_id, 6 * MIB) is not None  # as if on another process
    read_back = []
    original = S3BlobStore._hash_object
    monkeypatch.setattr(
        S3BlobStore,
        "_hash_object",
        lambda self, key, algorithm: read_back.append(key) or original(self, key, algorithm),
    )

    response = patch(client, location, data[6 * MIB :], f"{6 * MIB}-{8 * MIB - 1}")
    assert response.status_code == 202
    assert Upload.objects.get(id=upload_id).sha256_so_far == ""  # unknown here
    response = finish(client, location, sha256(data))
    assert response.status_code == 201, response.content
    assert read_back == [f"uploads/{upload_id}/data"]
    assert moto.read(s3_bucket, blob_key(sha256(data))) == data
    assert_nothing_pending(moto, s3_bucket)


def test_cold_process_with_a_wrong_digest_stores_nothing(client, repo_name, moto, s3_bucket):
    data = os.urandom(7 * MIB)
    location = upload_in_chunks(client, repo_name, [data])
    hasher_cache.drop(uuid.UUID(upload_id_of(location)))
    Upload.objects.filter(id=upload_id_of(location)).update(sha256_so_far="")

    response = finish(client, location, sha256(b"not it"))
    assert response.status_code == 400
    assert [e["code"] for e in response.json()["errors"]] == ["DIGEST_INVALID"]
    assert moto.keys(s3_bucket) == []
    assert_nothing_pending(moto, s3_bucket)
    assert client.get(location).status_code == 404  # the multipart upload is used up


def test_cold_process_before_the_first_part_rehashes_the_tail(client, repo_name, moto, s3_bucket):
    data = os.urandom(3 * MIB)
    location = upload_in_chunks(client, repo_name, [data[:MIB]])
    hasher_cache.drop(uuid.UUID(upload_id_of(location)))
    assert patch(client, location, data[MIB:], f"{MIB}-{3 * MIB - 1}").status_code == 202
    upload = Upload.objects.get(id=upload_id_of(location))
    assert upload.sha256_so_far == sha256(data).split(":")[1]


def test_range_mismatch_is_416_and_changes_nothing(client, repo_name, moto, s3_bucket):
    location = upload_in_chunks(client, repo_name, [b"x" * 100])
    before = Upload.objects.get(id=upload_id_of(location))
    response = patch(client, location, b"y" * 10, "50-59")
    assert response.status_code == 416
    assert response["Range"] == "0-99"
    assert response["Location"] == location
    assert response["Docker-Upload-UUID"] == upload_id_of(location)
    after = Upload.objects.get(id=upload_id_of(location))
    assert (after.size, after.tail_key, after.lease_holder) == (100, before.tail_key, None)


def test_cancel_aborts_the_multipart_upload_and_deletes_the_tail(
    client, repo_name, moto, s3_bucket
):
    location = upload_in_chunks(client, repo_name, [os.urandom(6 * MIB)])
    assert len(moto.multipart_uploads(s3_bucket)) == 1
    assert client.delete(location).status_code == 204
    assert_nothing_pending(moto, s3_bucket)
    assert moto.keys(s3_bucket) == []
    assert not Upload.objects.exists()


def test_purgeuploads_aborts_stale_and_orphaned_multipart_uploads(
    client, repo_name, moto, s3_bucket, capsys
):
    location = upload_in_chunks(client, repo_name, [os.urandom(6 * MIB)])
    Upload.objects.update(updated_at=timezone.now() - timedelta(days=2))
    # An instance that died right after creating a multipart upload, before recording it.
    moto.client.create_multipart_upload(Bucket=s3_bucket, Key=f"uploads/{uuid.uuid4()}/data")

    call_command("purgeuploads", "--older-than-hours=0")
    output = capsys.readouterr().out
    assert "purged 1 stale upload(s)" in output
    assert "aborted 1 orphaned multipart upload(s)" in output
    assert_nothing_pending(moto, s3_bucket)
    assert client.get(location).status_code == 404


def test_redirect_switched_off_streams_through_with_ranges(
    client, repo_name, moto, s3_bucket, settings
):
    settings.S3_REDIRECT = False
    data = os.urandom(3 * MIB + 11)
    digest = sha256(data)
    location = upload_in_chunks(client, repo_name, [data])
    assert finish(client, location, digest).status_code == 201

    response = client.get(f"/v2/{repo_name}/blobs/{digest}")
    assert response.status_code == 200
    assert response["Content-Length"] == str(len(data))
    assert response["Docker-Content-Digest"] == digest
    assert b"".join(response.streaming_content) == data

    response = client.get(f"/v2/{repo_name}/blobs/{digest}", headers={"Range": "bytes=10-19"})
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes 10-19/{len(data)}"
    assert b"".join(response.streaming_content) == data[10:20]

    response = client.get(f"/v2/{repo_name}/blobs/{digest}", headers={"Range": "bytes=9999999-"})
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{len(data)}"


def test_redirect_is_a_presigned_url_with_the_configured_lifetime(
    client, repo_name, moto, s3_bucket, settings
):
    settings.S3_PRESIGN_SECONDS = 123
    data = b"layer bytes"
    assert finish(client, start(client, repo_name)[0], sha256(data), data).status_code == 201
    response = client.get(f"/v2/{repo_name}/blobs/{sha256(data)}")
    assert response.status_code == 307
    location = response["Location"]
    assert location.startswith(f"{moto.url}/{s3_bucket}/{blob_key(sha256(data))}?")
    assert "X-Amz-Expires=123" in location and "X-Amz-Signature=" in location
    assert response["Cache-Control"] == "no-store"
    assert response.blob_bytes == len(data)  # metrics count what the bucket serves for us


def test_public_endpoint_is_what_presigned_urls_point_at(
    client, repo_name, moto, s3_bucket, settings
):
    settings.S3_PUBLIC_ENDPOINT_URL = "https://objects.example.com"
    from registry.storage import blob_store

    blob_store().__dict__.pop("_presign_client", None)
    data = b"public"
    assert finish(client, start(client, repo_name)[0], sha256(data), data).status_code == 201
    response = client.get(f"/v2/{repo_name}/blobs/{sha256(data)}")
    assert response["Location"].startswith(f"https://objects.example.com/{s3_bucket}/blobs/")
    blob_store().__dict__.pop("_presign_client", None)


def test_head_answers_from_the_database_without_touching_s3(
    client, repo_name, moto, s3_bucket, monkeypatch
):
    data = os.urandom(1000)
    assert finish(client, start(client, repo_name)[0], sha256(data), data).status_code == 201

    def no_s3(self):
        raise AssertionError("HEAD must not reach object storage")

    monkeypatch.setattr(S3BlobStore, "client", property(no_s3))
    response = client.head(f"/v2/{repo_name}/blobs/{sha256(data)}")
    assert response.status_code == 200
    assert response["Content-Length"] == str(len(data))
    assert response["Docker-Content-Digest"] == sha256(data)


def test_key_prefix_is_honoured(client, repo_name, moto, s3_bucket, settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "registry": moto.storage_options(s3_bucket, location="tenant-a/registry"),
    }
    data = os.urandom(6 * MIB)
    location = upload_in_chunks(client, repo_name, [data])
    assert moto.multipart_uploads(s3_bucket)[0]["Key"].startswith("tenant-a/registry/uploads/")
    assert finish(client, location, sha256(data)).status_code == 201
    assert moto.keys(s3_bucket) == [f"tenant-a/registry/{blob_key(sha256(data))}"]
    assert_nothing_pending(moto, s3_bucket)
