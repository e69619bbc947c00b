"""Monolithic upload (POST ?digest= with the blob as body), cross-repository mount
(POST ?mount=&from=) with its 202 fallback, and content-addressed storage: one file per
blob however many repositories link it."""

import hashlib
import os

import pytest
from django.conf import settings

from registry.models import Blob, Repository, RepositoryBlob, Upload
from tests.support.uploads import blob_file, errors, pull, sha256

pytestmark = pytest.mark.django_db


def upload_dirs() -> set[str]:
    uploads = settings.DATA_DIR / "registry" / "uploads"
    return {path.name for path in uploads.iterdir()} if uploads.exists() else set()


def post_blob(client, repo: str, data: bytes, digest: str | None = None):
    return client.post(
        f"/v2/{repo}/blobs/uploads/?digest={digest or sha256(data)}",
        data=data,
        content_type="application/octet-stream",
    )


def mount(client, repo: str, digest: str, source: str):
    return client.post(f"/v2/{repo}/blobs/uploads/?mount={digest}&from={source}")


def linked(repo: str, digest: str) -> bool:
    return RepositoryBlob.objects.filter(repository__name=repo, blob_id=digest).exists()


def assert_upload_session(response, repo: str) -> None:
    """The 202 an ordinary POST answers: a fresh session, nothing created."""
    assert response.status_code == 202, response.content
    upload_id = response["Docker-Upload-UUID"]
    assert response["Location"] == f"/v2/{repo}/blobs/uploads/{upload_id}"
    assert response["Range"] == "0-0"
    assert "Docker-Content-Digest" not in response
    assert Upload.objects.filter(id=upload_id, repository__name=repo).exists()


# Monolithic ------------------------------------------------------------------------------


def test_monolithic_upload(client, repo_name):
    data = os.urandom(10_000)
    digest = sha256(data)
    before = upload_dirs()

    response = post_blob(client, repo_name, data)
    assert response.status_code == 201, response.content
    assert response["Location"] == f"/v2/{repo_name}/blobs/{digest}"
    assert response["Docker-Content-Digest"] == digest

    assert Blob.objects.get(digest=digest).size == len(data)
    assert linked(repo_name, digest)
    assert blob_file(digest).read_bytes() == data
    assert not Upload.objects.filter(repository__name=repo_name).exists()
    assert upload_dirs() == before
    pulled, body = pull(client, repo_name, digest)
    assert (pulled.status_code, body) == (200, data)


def test_monolithic_upload_of_an_empty_blob(client, repo_name):
    response = post_blob(client, repo_name, b"")
    assert response.status_code == 201, response.content
    assert response["Docker-Content-Digest"] == sha256(b"")
    assert pull(client, repo_name, sha256(b""))[1] == b""


def test_monolithic_upload_with_wrong_digest_stores_nothing(client, repo_name):
    data = os.urandom(5000)
    wrong = sha256(os.urandom(16))
    before = upload_dirs()

    response = post_blob(client, repo_name, data, wrong)
    assert response.status_code == 400
    assert errors(response) == ["DIGEST_INVALID"]
    assert response.json()["errors"][0]["detail"] == {"expected": wrong, "actual": sha256(data)}
    for digest in (wrong, sha256(data)):
        assert not Blob.objects.filter(digest=digest).exists()
        assert not blob_file(digest).exists()
    assert not RepositoryBlob.objects.filter(repository__name=repo_name).exists()
    assert not Upload.objects.filter(repository__name=repo_name).exists()
    assert upload_dirs() == before
    assert client.get(f"/v2/{repo_name}/blobs/{sha256(data)}").status_code == 404


@pytest.mark.parametrize("digest", ["sha256:xyz", "md5:" + "0" * 32, "../../etc", "sha256:"])
def test_monolithic_upload_with_malformed_digest(client, repo_name, digest):
    data = os.urandom(100)
    before = upload_dirs()
    response = post_blob(client, repo_name, data, digest)
    assert response.status_code == 400
    assert errors(response) == ["DIGEST_INVALID"]
    assert not Blob.objects.filter(digest=sha256(data)).exists()
    assert not Upload.objects.filter(repository__name=repo_name).exists()
    assert upload_dirs() == before


def test_monolithic_upload_with_sha512(client, repo_name):
    data = os.urandom(1000)
    digest = f"sha512:{hashlib.sha512(data).hexdigest()}"
    response = post_blob(client, repo_name, data, digest)
    assert response.status_code == 201, response.content
    assert response["Docker-Content-Digest"] == digest
    assert blob_file(digest).read_bytes() == data


def test_same_blob_in_two_repositories_is_stored_once_and_linked_twice(client, repo_name):
    data = os.urandom(4000)
    digest = sha256(data)
    other = f"{repo_name}-b"

    assert post_blob(client, repo_name, data).status_code == 201
    first_inode = blob_file(digest).stat().st_ino
    # The second copy arrives in chunks, to go through the other commit path too.
    location = client.post(f"/v2/{other}/blobs/uploads/")["Location"]
    client.generic("PATCH", location, data=data, content_type="application/octet-stream")
    assert client.put(f"{location}?digest={digest}").status_code == 201

    assert Blob.objects.filter(digest=digest).count() == 1
    assert set(
        RepositoryBlob.objects.filter(blob_id=digest).values_list("repository__name", flat=True)
    ) == {repo_name, other}
    files = list(blob_file(digest).parent.glob(f"{digest.split(':')[1]}*"))
    assert files == [blob_file(digest)]
    assert blob_file(digest).stat().st_ino == first_inode
    assert pull(client, other, digest)[1] == data


def test_pushing_a_deleted_blob_again_links_it_again(client, repo_name):
    data = os.urandom(300)
    digest = sha256(data)
    assert post_blob(client, repo_name, data).status_code == 201
    assert client.delete(f"/v2/{repo_name}/blobs/{digest}").status_code == 202
    assert client.get(f"/v2/{repo_name}/blobs/{digest}").status_code == 404

    assert post_blob(client, repo_name, data).status_code == 201
    assert pull(client, repo_name, digest)[1] == data


# Mount -----------------------------------------------------------------------------------


@pytest.fixture
def source(client, repo_name):
    """A repository with one blob; returns (name, digest, bytes)."""
    data = os.urandom(2048)
    name = f"{repo_name}/source"
    assert post_blob(client, name, data).status_code == 201
    return name, sha256(data), data


def test_mount_from_a_repository_that_has_the_blob(client, repo_name, source):
    source_name, digest, data = source
    files_before = sorted(blob_file(digest).parent.iterdir())

    response = mount(client, repo_name, digest, source_name)
    assert response.status_code == 201, response.content
    assert response["Location"] == f"/v2/{repo_name}/blobs/{digest}"
    assert response["Docker-Content-Digest"] == digest
    assert "Docker-Upload-UUID" not in response

    assert linked(repo_name, digest) and linked(source_name, digest)
    assert Blob.objects.filter(digest=digest).count() == 1
    assert sorted(blob_file(digest).parent.iterdir()) == files_before
    assert not Upload.objects.filter(repository__name=repo_name).exists()
    pulled, body = pull(client, repo_name, digest)
    assert (pulled.status_code, body) == (200, data)
    head = client.head(f"/v2/{repo_name}/blobs/{digest}")
    assert (head.status_code, head["Content-Length"]) == (200, str(len(data)))


def test_mount_twice_is_idempotent(client, repo_name, source):
    source_name, digest, _ = source
    assert mount(client, repo_name, digest, source_name).status_code == 201
    assert mount(client, repo_name, digest, source_name).status_code == 201
    assert RepositoryBlob.objects.filter(repository__name=repo_name, blob_id=digest).count() == 1


def test_mount_of_a_digest_the_source_does_not_have_falls_back_to_an_upload(
    client, repo_name, source
):
    source_name, _, _ = source
    elsewhere = os.urandom(99)
    assert post_blob(client, f"{repo_name}/elsewhere", elsewhere).status_code == 201

    for digest in (sha256(os.urandom(8)), sha256(elsewhere)):  # unknown; in another repo
        response = mount(client, repo_name, digest, source_name)
        assert_upload_session(response, repo_name)
        assert not linked(repo_name, digest)
        assert client.head(f"/v2/{repo_name}/blobs/{digest}").status_code == 404


@pytest.mark.parametrize(
    "source_name", ["acme/does-not-exist", "Acme/Bad", "acme//x", "../../etc", "a" * 300]
)
def test_mount_from_a_missing_or_invalid_repository_falls_back(
    client, repo_name, source, source_name
):
    _, digest, _ = source
    response = mount(client, repo_name, digest, source_name)
    assert_upload_session(response, repo_name)
    assert not linked(repo_name, digest)
    assert not Repository.objects.filter(name=source_name).exists()


@pytest.mark.parametrize(
    "query", ["?mount=sha256:xyz&from={src}", "?mount={digest}", "?from={src}"]
)
def test_mount_with_a_bad_digest_or_a_missing_parameter_falls_back(
    client, repo_name, source, query
):
    source_name, digest, _ = source
    response = client.post(
        f"/v2/{repo_name}/blobs/uploads/" + query.format(src=source_name, digest=digest)
    )
    assert_upload_session(response, repo_name)
    assert not linked(repo_name, digest)


def test_mount_fallback_session_accepts_the_upload(client, repo_name, source):
    data = os.urandom(500)
    response = mount(client, repo_name, sha256(data), source[0])
    assert response.status_code == 202
    location = response["Location"]
    response = client.generic(
        "PUT", f"{location}?digest={sha256(data)}", data=data, content_type="application/x"
    )
    assert response.status_code == 201, response.content
    assert pull(client, repo_name, sha256(data))[1] == data


def test_mount_with_digest_parameter_falls_back_to_monolithic_upload(client, repo_name, source):
    """A mount that cannot happen, with `digest` too: the body is the blob."""
    data = os.urandom(500)
    response = client.post(
        f"/v2/{repo_name}/blobs/uploads/?mount={sha256(data)}&from={source[0]}"
        f"&digest={sha256(data)}",
        data=data,
        content_type="application/octet-stream",
    )
    assert response.status_code == 201, response.content
    assert response["Docker-Content-Digest"] == sha256(data)
    assert pull(client, repo_name, sha256(data))[1] == data
