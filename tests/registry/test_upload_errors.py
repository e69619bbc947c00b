"""Upload session errors over the Django test client: out-of-order and malformed chunks,
wrong or malformed digests on PUT, cancel, unknown upload ids, and the method, name, size
and authentication errors of the upload endpoints. Each error leaves storage and database
as they were, and the session usable where the spec lets the client retry."""

import os
import uuid

import pytest

from registry.models import Blob, Repository, RepositoryBlob, Upload
from tests.support.uploads import blob_file, errors, patch, put, sha256, start, upload_dir

pytestmark = pytest.mark.django_db


def upload_state(upload_id: str) -> tuple[int, bytes]:
    """(Upload.size in the database, bytes of the upload file)."""
    data = (upload_dir(upload_id) / "data").read_bytes()
    return Upload.objects.get(id=upload_id).size, data


def assert_nothing_stored(repo: str, digest: str) -> None:
    assert not Blob.objects.filter(digest=digest).exists()
    assert not RepositoryBlob.objects.filter(repository__name=repo, blob_id=digest).exists()
    assert not blob_file(digest).exists()


# Chunks ----------------------------------------------------------------------------------


def test_out_of_order_chunk_is_416_with_current_range(client, repo_name):
    location, upload_id = start(client, repo_name)
    first, second = os.urandom(100), os.urandom(50)
    assert patch(client, location, first, "0-99").status_code == 202

    for bad_range in ("150-199", "50-99", "0-49"):  # a gap, an overlap, a restart
        response = patch(client, location, second, bad_range)
        assert response.status_code == 416, bad_range
        assert errors(response) == ["BLOB_UPLOAD_INVALID"]
        assert response["Range"] == "0-99"
        assert response["Location"] == location
        assert response["Docker-Upload-UUID"] == upload_id
        assert upload_state(upload_id) == (100, first)

    response = patch(client, location, second, "100-149")
    assert (response.status_code, response["Range"]) == (202, "0-149")
    data = first + second
    assert put(client, location, f"?digest={sha256(data)}").status_code == 201
    assert blob_file(sha256(data)).read_bytes() == data


def test_out_of_order_first_chunk_reports_empty_range(client, repo_name):
    location, upload_id = start(client, repo_name)
    response = patch(client, location, b"abcde", "5-9")
    assert response.status_code == 416
    assert response["Range"] == "0-0"
    assert upload_state(upload_id) == (0, b"")


@pytest.mark.parametrize("content_range", ["5-14", "5-8", "bytes 5-12/13"])
def test_content_range_length_not_matching_body_is_400(client, repo_name, content_range):
    location, upload_id = start(client, repo_name)
    assert patch(client, location, b"first", "0-4").status_code == 202

    response = patch(client, location, b"second", content_range)  # 6 bytes
    assert response.status_code == 400
    assert errors(response) == ["BLOB_UPLOAD_INVALID"]
    assert upload_state(upload_id) == (5, b"first")
    assert client.get(location)["Range"] == "0-4"

    assert patch(client, location, b"second", "5-10").status_code == 202
    assert put(client, location, f"?digest={sha256(b'firstsecond')}").status_code == 201


@pytest.mark.parametrize("content_range", ["abc", "5-2", "-5", "1-", "0-9,10-19", "bytes=x-y"])
def test_malformed_content_range_is_400(client, repo_name, content_range):
    location, upload_id = start(client, repo_name)
    response = patch(client, location, b"0123456789", content_range)
    assert response.status_code == 400
    assert errors(response) == ["BLOB_UPLOAD_INVALID"]
    assert upload_state(upload_id) == (0, b"")


def test_chunk_after_a_rejected_chunk_continues_the_upload(client, repo_name):
    location, upload_id = start(client, repo_name)
    assert patch(client, location, b"abc", "0-9").status_code == 400
    assert patch(client, location, b"abc", "0-2").status_code == 202
    assert patch(client, location, b"def", "3-5").status_code == 202
    assert put(client, location, f"?digest={sha256(b'abcdef')}").status_code == 201


def test_negative_content_length_is_size_invalid(client, repo_name):
    location, upload_id = start(client, repo_name)
    response = client.generic(
        "PATCH",
        location,
        data=b"abc",
        content_type="application/octet-stream",
        CONTENT_LENGTH="-1",
    )
    assert response.status_code == 400
    assert errors(response) == ["SIZE_INVALID"]
    assert upload_state(upload_id) == (0, b"")


# Finishing -------------------------------------------------------------------------------


def test_put_with_wrong_digest_stores_nothing_and_the_upload_can_be_retried(client, repo_name):
    data = os.urandom(2000)
    location, upload_id = start(client, repo_name)
    assert patch(client, location, data[:1500], "0-1499").status_code == 202
    wrong = sha256(b"something else")

    response = put(client, location, f"?digest={wrong}", data[1500:])
    assert response.status_code == 400
    assert errors(response) == ["DIGEST_INVALID"]
    error = response.json()["errors"][0]
    assert error["detail"] == {"expected": wrong, "actual": sha256(data)}
    assert_nothing_stored(repo_name, wrong)
    assert_nothing_stored(repo_name, sha256(data))
    assert upload_state(upload_id) == (1500, data[:1500])  # the PUT's chunk is dropped
    assert client.get(location)["Range"] == "0-1499"

    response = put(client, location, f"?digest={sha256(data)}", data[1500:])
    assert response.status_code == 201, response.content
    assert blob_file(sha256(data)).read_bytes() == data


def test_put_without_body_and_wrong_digest_keeps_the_upload(client, repo_name):
    data = os.urandom(700)
    location, upload_id = start(client, repo_name)
    assert patch(client, location, data).status_code == 202
    wrong = sha256(data + b"!")

    response = put(client, location, f"?digest={wrong}")
    assert response.status_code == 400
    assert errors(response) == ["DIGEST_INVALID"]
    assert_nothing_stored(repo_name, wrong)
    assert upload_state(upload_id) == (700, data)

    assert put(client, location, f"?digest={sha256(data)}").status_code == 201


@pytest.mark.parametrize("query", ["", "?digest=", "?other=1"])
def test_put_without_digest_is_digest_invalid(client, repo_name, query):
    data = os.urandom(64)
    location, upload_id = start(client, repo_name)
    assert patch(client, location, data).status_code == 202

    response = put(client, location, query)
    assert response.status_code == 400
    assert errors(response) == ["DIGEST_INVALID"]
    assert_nothing_stored(repo_name, sha256(data))
    assert upload_state(upload_id) == (64, data)


@pytest.mark.parametrize(
    "digest",
    [
        "sha256:xyz",
        "md5:" + "0" * 32,
        "../../etc",
        "sha256:..%2F..%2Fetc",
        "sha256:" + "A" * 64,
        "sha256:" + "a" * 63,
        "sha512:" + "a" * 64,
    ],
)
def test_put_with_malformed_digest_is_digest_invalid(client, repo_name, digest):
    data = os.urandom(64)
    location, upload_id = start(client, repo_name)
    assert patch(client, location, data).status_code == 202

    response = put(client, location, f"?digest={digest}", b"tail")
    assert response.status_code == 400
    assert errors(response) == ["DIGEST_INVALID"]
    assert upload_state(upload_id) == (64, data)
    assert not Blob.objects.filter(repository_links__repository__name=repo_name).exists()
    assert put(client, location, f"?digest={sha256(data)}").status_code == 201


# Cancel and unknown sessions -------------------------------------------------------------


def test_delete_cancels_the_upload(client, repo_name):
    data = os.urandom(10)
    location, upload_id = start(client, repo_name)
    assert patch(client, location, data).status_code == 202
    assert (upload_dir(upload_id) / "data").exists()

    response = client.delete(location)
    assert response.status_code == 204
    assert response.content == b""
    assert not Upload.objects.filter(id=upload_id).exists()
    assert not upload_dir(upload_id).exists()

    for method in ("GET", "PATCH", "PUT", "DELETE"):
        response = client.generic(method, f"{location}?digest={sha256(data)}")
        assert response.status_code == 404, method
        assert errors(response) == ["BLOB_UPLOAD_UNKNOWN"], method
    assert_nothing_stored(repo_name, sha256(data))


@pytest.mark.parametrize("upload_id", [str(uuid.uuid4()), "not-a-uuid", "x" * 300, "..", "%2e%2e"])
@pytest.mark.parametrize("method", ["GET", "PATCH", "PUT", "DELETE"])
def test_unknown_or_malformed_upload_id_is_404(client, repo_name, upload_id, method):
    start(client, repo_name)  # the repository exists
    response = client.generic(
        method,
        f"/v2/{repo_name}/blobs/uploads/{upload_id}?digest={sha256(b'')}",
        data=b"data",
        content_type="application/octet-stream",
    )
    assert response.status_code == 404
    assert errors(response) == ["BLOB_UPLOAD_UNKNOWN"]


@pytest.mark.parametrize("method", ["GET", "PATCH", "PUT", "DELETE"])
def test_upload_id_under_another_repository_is_404(client, repo_name, method):
    head, tail = os.urandom(3), os.urandom(3)
    location, upload_id = start(client, repo_name)
    assert patch(client, location, head).status_code == 202
    other = f"{repo_name}-other"
    start(client, other)

    response = client.generic(
        method,
        f"/v2/{other}/blobs/uploads/{upload_id}?digest={sha256(head + tail)}",
        data=tail,
        content_type="application/octet-stream",
    )
    assert response.status_code == 404
    assert errors(response) == ["BLOB_UPLOAD_UNKNOWN"]
    assert upload_state(upload_id) == (3, head)
    assert_nothing_stored(other, sha256(head + tail))


# Method, name and access errors ----------------------------------------------------------


@pytest.mark.parametrize(
    "method, path",
    [
        ("PUT", "/v2/{repo}/blobs/uploads/"),
        ("PATCH", "/v2/{repo}/blobs/uploads/"),
        ("GET", "/v2/{repo}/blobs/uploads/"),
        ("DELETE", "/v2/{repo}/blobs/uploads/"),
        ("POST", "/v2/{repo}/blobs/uploads/{upload_id}"),
    ],
)
def test_unsupported_method_is_405(client, repo_name, method, path):
    _, upload_id = start(client, repo_name)
    response = client.generic(method, path.format(repo=repo_name, upload_id=upload_id))
    assert response.status_code == 405
    assert errors(response) == ["UNSUPPORTED"]


@pytest.mark.parametrize("name", ["Acme/App", "acme//app", "acme/app-", "-acme", "a" * 256])
def test_upload_into_an_invalid_name_is_name_invalid(client, name):
    response = client.post(f"/v2/{name}/blobs/uploads/")
    assert response.status_code == 400
    assert errors(response) == ["NAME_INVALID"]
    assert not Repository.objects.filter(name=name).exists()
    assert not Upload.objects.filter(repository__name=name).exists()


def test_push_without_credentials_is_unauthorized(client, anonymous_client, repo_name):
    data = os.urandom(8)
    location, upload_id = start(client, repo_name)
    client = anonymous_client

    requests = [
        ("POST", f"/v2/{repo_name}/blobs/uploads/"),
        ("POST", f"/v2/{repo_name}/blobs/uploads/?digest={sha256(data)}"),
        ("GET", location),
        ("PATCH", location),
        ("PUT", f"{location}?digest={sha256(data)}"),
        ("DELETE", location),
    ]
    for method, path in requests:
        response = client.generic(method, path, data=data, content_type="application/octet-stream")
        assert response.status_code == 401, (method, path)
        assert errors(response) == ["UNAUTHORIZED"], (method, path)
        assert response["WWW-Authenticate"].endswith(
            f',scope="repository:{repo_name}:pull,push"'
        ), (method, path)
    assert upload_state(upload_id) == (0, b"")
    assert_nothing_stored(repo_name, sha256(data))
