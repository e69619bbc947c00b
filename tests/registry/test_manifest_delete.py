"""DELETE of manifests: by digest removes the manifest and its tags; by tag only the tag."""

import pytest

from registry.models import Manifest, Tag
from tests.support.registry_client import errors, image_manifest, put_manifest, sha256

pytestmark = pytest.mark.django_db
REPO = "acme/app"


@pytest.fixture
def pushed(client):
    _, raw = image_manifest(client, REPO)
    put_manifest(client, REPO, "v1", raw)
    put_manifest(client, REPO, "stable", raw)
    return raw


def test_delete_by_tag_removes_only_that_tag(client, pushed):
    response = client.delete(f"/v2/{REPO}/manifests/v1")
    assert response.status_code == 202
    assert errors(client.get(f"/v2/{REPO}/manifests/v1")) == ["MANIFEST_UNKNOWN"]
    assert client.get(f"/v2/{REPO}/manifests/stable").content == pushed
    assert client.get(f"/v2/{REPO}/manifests/{sha256(pushed)}").status_code == 200
    assert client.get(f"/v2/{REPO}/tags/list").json()["tags"] == ["stable"]


def test_delete_by_digest_removes_manifest_and_its_tags(client, pushed):
    response = client.delete(f"/v2/{REPO}/manifests/{sha256(pushed)}")
    assert response.status_code == 202
    for reference in ("v1", "stable", sha256(pushed)):
        assert errors(client.get(f"/v2/{REPO}/manifests/{reference}")) == ["MANIFEST_UNKNOWN"]
    assert not Manifest.objects.filter(digest=sha256(pushed)).exists()
    assert not Tag.objects.filter(repository__name=REPO).exists()


def test_delete_of_unknown_manifest(client, pushed):
    assert errors(client.delete(f"/v2/{REPO}/manifests/nope")) == ["MANIFEST_UNKNOWN"]
    response = client.delete(f"/v2/{REPO}/manifests/{sha256(b'x')}")
    assert response.status_code == 404
    assert errors(response) == ["MANIFEST_UNKNOWN"]
    assert errors(client.delete("/v2/acme/none/manifests/v1")) == ["NAME_UNKNOWN"]


def test_delete_in_one_repository_leaves_the_same_manifest_elsewhere(client, pushed):
    put_manifest(client, "acme/mirror", "v1", pushed)  # blobs are not there yet
    _, raw = image_manifest(client, "acme/mirror")
    put_manifest(client, "acme/mirror", "v1", raw)
    client.delete(f"/v2/{REPO}/manifests/{sha256(pushed)}")
    assert client.get("/v2/acme/mirror/manifests/v1").content == raw


def test_push_after_delete_recreates_the_manifest(client, pushed):
    client.delete(f"/v2/{REPO}/manifests/{sha256(pushed)}")
    assert put_manifest(client, REPO, "v1", pushed).status_code == 201
    assert client.get(f"/v2/{REPO}/manifests/v1").content == pushed
