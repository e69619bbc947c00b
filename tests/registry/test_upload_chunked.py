"""Chunked blob uploads over the Django test client: start, status, PATCH chunks with
Content-Range, finish with PUT ?digest= (with and without a last chunk), then pull.

Also the "another worker finishes the upload" paths: the in-process hasher cache cleared
between requests, so the PUT verifies from the recorded `sha256_so_far` or by re-hashing.
"""

import hashlib
import os
import uuid

import pytest

from registry.models import Blob, RepositoryBlob, Upload
from registry.storage import BlobStore, hasher_cache
from tests.support.uploads import (
    blob_file,
    finish,
    patch,
    pull,
    sha256,
    start,
    upload_file,
    upload_in_chunks,
)

pytestmark = pytest.mark.django_db


def forget_hasher(upload_id: str, size: int) -> None:
    """Drop the cached running hash, as if the next request reached another process.
    Asserts the cache had it, so the test really exercises the cold path."""
    assert hasher_cache.take(uuid.UUID(upload_id), size) is not None


def spy_rehash(monkeypatch) -> list[str]:
    calls: list[str] = []
    original = BlobStore.upload_hash

    def upload_hash(self, upload_id, algorithm):
        calls.append(algorithm)
        return original(self, upload_id, algorithm)

    monkeypatch.setattr(BlobStore, "upload_hash", upload_hash)
    return calls


def test_post_starts_an_upload_session(client, repo_name):
    response = client.post(f"/v2/{repo_name}/blobs/uploads/")
    assert response.status_code == 202, response.content

    upload_id = response["Docker-Upload-UUID"]
    assert str(uuid.UUID(upload_id)) == upload_id
    assert response["Location"] == f"/v2/{repo_name}/blobs/uploads/{upload_id}"
    assert response["Range"] == "0-0"
    assert response["Docker-Distribution-API-Version"] == "registry/2.0"
    assert Upload.objects.filter(id=upload_id, repository__name=repo_name, size=0).exists()
    assert upload_file(upload_id).read_bytes() == b""


def test_post_without_trailing_slash_also_starts_an_upload(client, repo_name):
    response = client.post(f"/v2/{repo_name}/blobs/uploads")
    assert response.status_code == 202
    assert response["Location"].startswith(f"/v2/{repo_name}/blobs/uploads/")


def test_status_of_a_fresh_and_of_a_growing_upload(client, repo_name):
    location = start(client, repo_name)[0]
    upload_id = location.rsplit("/", 1)[1]

    status = client.get(location)
    assert status.status_code == 204
    assert status["Range"] == "0-0"
    assert status["Location"] == location
    assert status["Docker-Upload-UUID"] == upload_id
    assert status.content == b""

    assert patch(client, location, b"x" * 10, "0-9").status_code == 202
    status = client.get(location)
    assert status.status_code == 204
    assert status["Range"] == "0-9"


def test_three_chunks_then_put_without_body(client, repo_name):
    chunks = [os.urandom(1000), os.urandom(2500), os.urandom(17)]
    data = b"".join(chunks)
    digest = sha256(data)
    location = start(client, repo_name)[0]
    upload_id = location.rsplit("/", 1)[1]

    ends = []
    offset = 0
    for chunk in chunks:
        response = patch(client, location, chunk, f"{offset}-{offset + len(chunk) - 1}")
        offset += len(chunk)
        assert response.status_code == 202, response.content
        assert response["Location"] == location
        assert response["Docker-Upload-UUID"] == upload_id
        ends.append(response["Range"])
    assert ends == ["0-999", "0-3499", "0-3516"]
    assert upload_file(upload_id).read_bytes() == data
    upload = Upload.objects.get(id=upload_id)
    assert (upload.size, upload.sha256_so_far) == (len(data), digest.split(":")[1])

    response = finish(client, location, digest)
    assert response.status_code == 201, response.content
    assert response["Location"] == f"/v2/{repo_name}/blobs/{digest}"
    assert response["Docker-Content-Digest"] == digest

    assert Blob.objects.get(digest=digest).size == len(data)
    assert RepositoryBlob.objects.filter(repository__name=repo_name, blob_id=digest).count() == 1
    assert blob_file(digest).read_bytes() == data
    assert not Upload.objects.filter(id=upload_id).exists()
    assert not upload_file(upload_id).parent.exists()
    assert client.get(location).status_code == 404  # the session is over

    pulled, body = pull(client, repo_name, digest)
    assert pulled.status_code == 200
    assert body == data
    assert pulled["Content-Length"] == str(len(data))
    assert pulled["Docker-Content-Digest"] == digest

    head = client.head(f"/v2/{repo_name}/blobs/{digest}")
    assert head.status_code == 200
    assert head["Content-Length"] == str(len(data))
    assert head["Docker-Content-Digest"] == digest
    assert head.content == b""


def test_three_chunks_then_put_with_the_last_chunk(client, repo_name):
    chunks = [os.urandom(300), os.urandom(300), os.urandom(300), os.urandom(123)]
    data = b"".join(chunks)
    digest = sha256(data)
    location = upload_in_chunks(client, repo_name, chunks[:3])

    response = finish(client, location, digest, chunks[3])
    assert response.status_code == 201, response.content
    assert response["Location"] == f"/v2/{repo_name}/blobs/{digest}"
    assert response["Docker-Content-Digest"] == digest
    assert Blob.objects.get(digest=digest).size == len(data)
    assert pull(client, repo_name, digest)[1] == data


def test_patches_without_content_range_append_in_order(client, repo_name):
    """docker streams the whole blob in one PATCH without Content-Range."""
    data = os.urandom(5000)
    location = start(client, repo_name)[0]
    response = patch(client, location, data[:4000])
    assert (response.status_code, response["Range"]) == (202, "0-3999")
    response = patch(client, location, data[4000:])
    assert (response.status_code, response["Range"]) == (202, "0-4999")
    assert finish(client, location, sha256(data)).status_code == 201
    assert pull(client, repo_name, sha256(data))[1] == data


def test_content_range_in_bytes_form_is_accepted(client, repo_name):
    location = start(client, repo_name)[0]
    response = patch(client, location, b"abcde", "bytes 0-4/*")
    assert (response.status_code, response["Range"]) == (202, "0-4")


def test_empty_blob_through_an_upload_session(client, repo_name):
    digest = sha256(b"")
    location = start(client, repo_name)[0]
    response = finish(client, location, digest)
    assert response.status_code == 201, response.content
    assert response["Docker-Content-Digest"] == digest
    head = client.head(f"/v2/{repo_name}/blobs/{digest}")
    assert (head.status_code, head["Content-Length"]) == (200, "0")


def test_sha512_digest_finishes_an_upload(client, repo_name):
    data = os.urandom(3000)
    digest = f"sha512:{hashlib.sha512(data).hexdigest()}"
    location = upload_in_chunks(client, repo_name, [data[:1000], data[1000:2000]])

    response = finish(client, location, digest, data[2000:])
    assert response.status_code == 201, response.content
    assert response["Location"] == f"/v2/{repo_name}/blobs/{digest}"
    assert blob_file(digest).read_bytes() == data
    pulled, body = pull(client, repo_name, digest)
    assert pulled["Docker-Content-Digest"] == digest
    assert body == data


# Another worker finishes the upload: the hasher cache of this process does not help. ------


def test_put_on_a_cold_process_verifies_from_recorded_sha256(client, repo_name, monkeypatch):
    data = os.urandom(4096)
    location = upload_in_chunks(client, repo_name, [data[:1000], data[1000:]])
    upload_id = location.rsplit("/", 1)[1]
    forget_hasher(upload_id, len(data))

    def no_rehash(*args, **kwargs):
        raise AssertionError("a PUT without body must use Upload.sha256_so_far")

    monkeypatch.setattr(BlobStore, "upload_hash", no_rehash)
    response = finish(client, location, sha256(data))
    assert response.status_code == 201, response.content
    assert blob_file(sha256(data)).read_bytes() == data


def test_put_on_a_cold_process_rehashes_without_recorded_sha256(client, repo_name, monkeypatch):
    data = os.urandom(4096)
    location = upload_in_chunks(client, repo_name, [data[:1000], data[1000:]])
    upload_id = location.rsplit("/", 1)[1]
    forget_hasher(upload_id, len(data))
    Upload.objects.filter(id=upload_id).update(sha256_so_far="")
    rehashes = spy_rehash(monkeypatch)

    response = finish(client, location, sha256(data))
    assert response.status_code == 201, response.content
    assert rehashes == ["sha256"]
    assert blob_file(sha256(data)).read_bytes() == data


def test_put_with_last_chunk_on_a_cold_process_rehashes(client, repo_name, monkeypatch):
    data = os.urandom(4096)
    location = upload_in_chunks(client, repo_name, [data[:3000]])
    forget_hasher(location.rsplit("/", 1)[1], 3000)
    rehashes = spy_rehash(monkeypatch)

    response = finish(client, location, sha256(data), data[3000:])
    assert response.status_code == 201, response.content
    assert rehashes == ["sha256"]
    assert blob_file(sha256(data)).read_bytes() == data


def test_patch_on_a_cold_process_rehashes_and_records_the_right_sha256(
    client, repo_name, monkeypatch
):
    data = os.urandom(3000)
    location = upload_in_chunks(client, repo_name, [data[:1000]])
    upload_id = location.rsplit("/", 1)[1]
    forget_hasher(upload_id, 1000)
    rehashes = spy_rehash(monkeypatch)

    assert patch(client, location, data[1000:2000], "1000-1999").status_code == 202
    assert rehashes == ["sha256"]
    assert Upload.objects.get(id=upload_id).sha256_so_far == hashlib.sha256(data[:2000]).hexdigest()

    forget_hasher(upload_id, 2000)
    response = finish(client, location, sha256(data), data[2000:])
    assert response.status_code == 201, response.content
    assert rehashes == ["sha256", "sha256"]
    assert pull(client, repo_name, sha256(data))[1] == data


def test_warm_process_does_not_rehash(client, repo_name, monkeypatch):
    data = os.urandom(3000)
    location = upload_in_chunks(client, repo_name, [data[:1000]])
    rehashes = spy_rehash(monkeypatch)
    assert patch(client, location, data[1000:2000], "1000-1999").status_code == 202
    assert finish(client, location, sha256(data), data[2000:]).status_code == 201
    assert rehashes == []
