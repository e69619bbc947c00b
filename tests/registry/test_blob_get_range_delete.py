"""Blob pull and delete over the Django test client: GET/HEAD headers, single Range
requests (206/416), visibility only through a repository link, malformed digests, and
DELETE unlinking a blob from one repository."""

import os

import pytest

from registry.models import Blob, RepositoryBlob
from tests.support.registry_client import push_blob
from tests.support.uploads import blob_file, errors, pull, sha256

pytestmark = pytest.mark.django_db

SIZE = 100


@pytest.fixture
def blob(client, repo_name) -> tuple[str, bytes]:
    """A SIZE-byte blob pushed to `repo_name`; returns (digest, bytes)."""
    data = os.urandom(SIZE)
    return push_blob(client, repo_name, data)["digest"], data


# GET and HEAD ----------------------------------------------------------------------------


def test_get_returns_the_bytes_and_headers(client, repo_name, blob):
    digest, data = blob
    response, body = pull(client, repo_name, digest)
    assert response.status_code == 200
    assert body == data
    assert response["Content-Length"] == str(SIZE)
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Docker-Content-Digest"] == digest
    assert response["Accept-Ranges"] == "bytes"
    assert response["ETag"] == f'"{digest}"'
    assert "Content-Range" not in response


def test_head_returns_headers_and_no_body(client, repo_name, blob):
    digest, _ = blob
    response = client.head(f"/v2/{repo_name}/blobs/{digest}")
    assert response.status_code == 200
    assert response.content == b""
    assert response["Content-Length"] == str(SIZE)
    assert response["Docker-Content-Digest"] == digest
    assert response["Accept-Ranges"] == "bytes"


@pytest.mark.parametrize(
    "range_header, start, end",
    [
        ("bytes=0-9", 0, 9),
        ("bytes=10-", 10, SIZE - 1),
        ("bytes=-5", SIZE - 5, SIZE - 1),
        ("bytes=99-99", 99, 99),
        ("bytes=90-500", 90, SIZE - 1),  # clamped to the end
        ("bytes=-500", 0, SIZE - 1),  # suffix longer than the blob
    ],
)
def test_range_get_is_206_with_content_range(client, repo_name, blob, range_header, start, end):
    digest, data = blob
    response, body = pull(client, repo_name, digest, range_header)
    assert response.status_code == 206
    assert body == data[start : end + 1]
    assert response["Content-Range"] == f"bytes {start}-{end}/{SIZE}"
    assert response["Content-Length"] == str(end - start + 1)
    assert response["Docker-Content-Digest"] == digest


@pytest.mark.parametrize("range_header", ["bytes=999999-", f"bytes={SIZE}-", "bytes=-0"])
def test_unsatisfiable_range_is_416(client, repo_name, blob, range_header):
    digest, _ = blob
    response = client.get(f"/v2/{repo_name}/blobs/{digest}", headers={"Range": range_header})
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{SIZE}"
    assert errors(response) == ["RANGE_NOT_SATISFIABLE"]


@pytest.mark.parametrize("range_header", ["bytes=0-1,5-6", "items=0-1", "bytes=x", "bytes=-"])
def test_unsupported_range_serves_the_whole_blob(client, repo_name, blob, range_header):
    digest, data = blob
    response, body = pull(client, repo_name, digest, range_header)
    assert response.status_code == 200
    assert body == data
    assert "Content-Range" not in response


def test_head_ignores_range(client, repo_name, blob):
    digest, _ = blob
    response = client.head(f"/v2/{repo_name}/blobs/{digest}", headers={"Range": "bytes=0-9"})
    assert response.status_code == 200
    assert response["Content-Length"] == str(SIZE)


def test_empty_blob_get_and_ranges(client, repo_name):
    digest = push_blob(client, repo_name, b"")["digest"]
    response, body = pull(client, repo_name, digest)
    assert (response.status_code, body, response["Content-Length"]) == (200, b"", "0")

    response = client.get(f"/v2/{repo_name}/blobs/{digest}", headers={"Range": "bytes=0-"})
    assert response.status_code == 416
    assert response["Content-Range"] == "bytes */0"


def test_suffix_range_of_an_empty_blob_is_416(client, repo_name):
    """RFC 9110 §14.1.1: a suffix range of a zero-length representation is unsatisfiable."""
    digest = push_blob(client, repo_name, b"")["digest"]
    response, body = pull(client, repo_name, digest, "bytes=-5")
    assert response.status_code == 416, (response.status_code, response.get("Content-Range"))
    assert response["Content-Range"] == "bytes */0"


# Visibility ------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_blob_of_another_repository_is_blob_unknown(client, repo_name, blob, method):
    digest, _ = blob
    other = f"{repo_name}-other"
    push_blob(client, other, os.urandom(10))  # the repository exists, without this blob

    response = client.generic(method, f"/v2/{other}/blobs/{digest}")
    assert response.status_code == 404
    if method == "GET":
        assert errors(response) == ["BLOB_UNKNOWN"]
        assert response.json()["errors"][0]["detail"] == {"digest": digest}
    else:
        assert response.content == b""


@pytest.mark.parametrize("method", ["GET", "HEAD", "DELETE"])
def test_blob_in_an_unknown_repository_is_name_unknown(client, repo_name, blob, method):
    digest, _ = blob
    response = client.generic(method, f"/v2/{repo_name}-nope/blobs/{digest}")
    assert response.status_code == 404
    if method != "HEAD":
        assert errors(response) == ["NAME_UNKNOWN"]


@pytest.mark.parametrize(
    "digest",
    [
        "sha256:xyz",
        "md5:" + "0" * 32,
        "..",
        "sha256:..",
        "sha256:" + "A" * 64,
        "sha256:" + "a" * 65,
        "sha512:" + "a" * 64,
        "latest",
    ],
)
@pytest.mark.parametrize("method", ["GET", "HEAD", "DELETE"])
def test_malformed_digest_is_digest_invalid(client, repo_name, blob, method, digest):
    response = client.generic(method, f"/v2/{repo_name}/blobs/{digest}")
    assert response.status_code == 400
    if method != "HEAD":
        assert errors(response) == ["DIGEST_INVALID"]
    assert RepositoryBlob.objects.filter(repository__name=repo_name).count() == 1


@pytest.mark.parametrize("path", ["../../etc/passwd", "..%2F..%2Fetc%2Fpasswd", "sha256:a/b"])
def test_digest_with_a_slash_is_no_blob_route(client, repo_name, blob, path):
    """A digest can never contain '/': such paths match no blob route (404), and nothing
    outside the blob store is read."""
    response = client.get(f"/v2/{repo_name}/blobs/{path}")
    assert response.status_code == 404
    assert not response.streaming
    assert errors(response) == ["NOT_FOUND"]


def test_blob_missing_from_storage_is_blob_unknown(client, repo_name):
    data = os.urandom(50)
    digest = push_blob(client, repo_name, data)["digest"]
    blob_file(digest).unlink()
    response = client.get(f"/v2/{repo_name}/blobs/{digest}")
    assert response.status_code == 404
    assert errors(response) == ["BLOB_UNKNOWN"]


# DELETE ----------------------------------------------------------------------------------


def test_delete_unlinks_the_blob_from_this_repository_only(client, repo_name, blob):
    digest, data = blob
    other = f"{repo_name}-other"
    push_blob(client, other, data)

    response = client.delete(f"/v2/{repo_name}/blobs/{digest}")
    assert response.status_code == 202
    assert response.content == b""

    for method in ("GET", "HEAD"):
        assert client.generic(method, f"/v2/{repo_name}/blobs/{digest}").status_code == 404
    assert errors(client.get(f"/v2/{repo_name}/blobs/{digest}")) == ["BLOB_UNKNOWN"]
    assert not RepositoryBlob.objects.filter(repository__name=repo_name, blob_id=digest).exists()
    assert Blob.objects.filter(digest=digest).exists()
    assert pull(client, other, digest)[1] == data  # still there for the other repository

    again = client.delete(f"/v2/{repo_name}/blobs/{digest}")
    assert again.status_code == 404
    assert errors(again) == ["BLOB_UNKNOWN"]
    assert again.json()["errors"][0]["detail"] == {"digest": digest}


def test_delete_of_a_blob_never_linked_here_is_404(client, repo_name, blob):
    response = client.delete(f"/v2/{repo_name}/blobs/{sha256(os.urandom(8))}")
    assert response.status_code == 404
    assert errors(response) == ["BLOB_UNKNOWN"]


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
def test_unsupported_methods_on_a_blob_are_405(client, repo_name, blob, method):
    digest, _ = blob
    response = client.generic(method, f"/v2/{repo_name}/blobs/{digest}")
    assert response.status_code == 405
    assert errors(response) == ["UNSUPPORTED"]


def test_delete_without_credentials_is_unauthorized(anonymous_client, repo_name, blob):
    digest, data = blob
    response = anonymous_client.delete(f"/v2/{repo_name}/blobs/{digest}")
    assert response.status_code == 401
    assert errors(response) == ["UNAUTHORIZED"]
    assert response["WWW-Authenticate"] == (
        'Bearer realm="http://127.0.0.1:8000/v2/token",service="127.0.0.1:8000",'
        f'scope="repository:{repo_name}:delete"'
    )
    assert RepositoryBlob.objects.filter(repository__name=repo_name, blob_id=digest).exists()
