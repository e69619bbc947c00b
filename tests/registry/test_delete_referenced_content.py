"""Deletes never leave stored content unpullable: an index's child and a manifest's blob
are refused (405 UNSUPPORTED, naming what still refers to them) until that is deleted first.
The other order (index, then children; manifests, then blobs) works as before."""

import json
import threading

import pytest
from django.db import connection

from registry.models import Manifest, RepositoryBlob
from tests.support.registry_client import (
    OCI_INDEX,
    OCI_MANIFEST,
    errors,
    image_manifest,
    put_manifest,
    sha256,
)

pytestmark = pytest.mark.django_db
REPO = "acme/app"


def index_of(*children: bytes) -> bytes:
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [
                {
                    "mediaType": OCI_MANIFEST,
                    "digest": sha256(child),
                    "size": len(child),
                    "platform": {"architecture": arch, "os": "linux"},
                }
                for child, arch in zip(children, ("amd64", "arm64"), strict=False)
            ],
        }
    ).encode()


@pytest.fixture
def tagged_index(client):
    manifest, child = image_manifest(client, REPO)
    assert put_manifest(client, REPO, sha256(child), child).status_code == 201
    index = index_of(child)
    assert put_manifest(client, REPO, "1.0", index, OCI_INDEX).status_code == 201
    return manifest, child, index


def test_a_child_of_a_tagged_index_cannot_be_deleted(client, tagged_index):
    _, child, index = tagged_index
    response = client.delete(f"/v2/{REPO}/manifests/{sha256(child)}")
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"
    assert response.json() == {
        "errors": [
            {
                "code": "UNSUPPORTED",
                "message": f"manifest {sha256(child)} is a child of index {sha256(index)} in "
                f"{REPO} (tagged 1.0); delete the index first",
                "detail": {"digest": sha256(child), "referenced_by": [sha256(index)]},
            }
        ]
    }
    # Everything still pulls.
    assert client.get(f"/v2/{REPO}/manifests/1.0").content == index
    assert client.get(f"/v2/{REPO}/manifests/{sha256(child)}").content == child


def test_a_child_of_an_untagged_index_is_refused_too(client, tagged_index):
    """An untagged index is still pulled by digest (pinned deployments, tag history)."""
    _, child, index = tagged_index
    assert client.delete(f"/v2/{REPO}/manifests/1.0").status_code == 202  # the tag only
    response = client.delete(f"/v2/{REPO}/manifests/{sha256(child)}")
    assert response.status_code == 405
    assert response.json()["errors"][0]["message"] == (
        f"manifest {sha256(child)} is a child of index {sha256(index)} in {REPO}; "
        "delete the index first"
    )


def test_index_first_then_its_children_then_blobs(client, tagged_index):
    manifest, child, index = tagged_index
    assert client.delete(f"/v2/{REPO}/manifests/{sha256(index)}").status_code == 202
    assert client.delete(f"/v2/{REPO}/manifests/{sha256(child)}").status_code == 202
    for blob in (manifest["config"], *manifest["layers"]):
        assert client.delete(f"/v2/{REPO}/blobs/{blob['digest']}").status_code == 202
    assert not Manifest.objects.filter(repository__name=REPO).exists()


def test_a_blob_used_by_a_stored_manifest_cannot_be_deleted(client):
    manifest, raw = image_manifest(client, REPO)
    assert put_manifest(client, REPO, "1.0", raw).status_code == 201
    layer = manifest["layers"][0]["digest"]
    response = client.delete(f"/v2/{REPO}/blobs/{layer}")
    assert response.status_code == 405
    assert response.json() == {
        "errors": [
            {
                "code": "UNSUPPORTED",
                "message": f"blob {layer} is used by manifest {sha256(raw)} in {REPO} "
                "(tagged 1.0); delete the manifest first",
                "detail": {"digest": layer, "referenced_by": [sha256(raw)]},
            }
        ]
    }
    assert client.get(f"/v2/{REPO}/blobs/{layer}").status_code == 200
    # A blob no manifest uses goes as before; an unknown one is still BLOB_UNKNOWN.
    assert client.delete(f"/v2/{REPO}/manifests/{sha256(raw)}").status_code == 202
    assert client.delete(f"/v2/{REPO}/blobs/{layer}").status_code == 202
    assert errors(client.delete(f"/v2/{REPO}/blobs/{layer}")) == ["BLOB_UNKNOWN"]


def test_the_console_shows_the_refusal(client, tagged_index, settings):
    """The console's delete goes through the same service, so it says the same."""
    from registry.errors import ContentInUse
    from registry.models import Repository
    from registry.services.manifests import manifest_delete

    _, child, _ = tagged_index
    with pytest.raises(ContentInUse, match="delete the index first"):
        manifest_delete(
            repository=Repository.objects.get(name=REPO), reference=sha256(child), actor="t"
        )


@pytest.mark.django_db(transaction=True)
def test_a_blob_delete_racing_a_push_that_uses_it_never_leaves_a_broken_manifest(client):
    """Whichever commits first, the other sees it: either the push fails with
    MANIFEST_BLOB_UNKNOWN or the delete is refused; never a stored manifest whose blob
    is gone. (PostgreSQL: row locks; SQLite: IMMEDIATE transactions serialise writers.)"""
    outcomes = []
    for round_ in range(8):
        manifest, raw = image_manifest(client, f"{REPO}{round_}")
        layer = manifest["layers"][0]["digest"]
        results = {}
        barrier = threading.Barrier(2)

        def push(results=results, raw=raw, round_=round_, barrier=barrier):
            barrier.wait()
            results["push"] = put_manifest(client, f"{REPO}{round_}", "1.0", raw).status_code
            connection.close()

        def delete(results=results, layer=layer, round_=round_, barrier=barrier):
            barrier.wait()
            results["delete"] = client.delete(f"/v2/{REPO}{round_}/blobs/{layer}").status_code
            connection.close()

        threads = [threading.Thread(target=push), threading.Thread(target=delete)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        linked = RepositoryBlob.objects.filter(
            repository__name=f"{REPO}{round_}", blob_id=layer
        ).exists()
        stored = Manifest.objects.filter(
            repository__name=f"{REPO}{round_}", digest=sha256(raw)
        ).exists()
        outcomes.append((results["push"], results["delete"], stored, linked))
        # Which request commits first is the race; each order has one exact outcome.
        push_first = (201, 405, True, True)  # the delete is refused: the manifest uses it
        delete_first = (400, 202, False, False)  # MANIFEST_BLOB_UNKNOWN, nothing stored
        assert outcomes[-1] in (push_first, delete_first), outcomes


def test_skopeo_delete_of_an_index_child_is_refused_and_the_tag_still_pulls(
    live_registry, repo_name, tmp_path
):
    """A real client: skopeo's delete of a platform child fails with distr's reason, and
    skopeo still copies the whole multi-platform tag afterwards."""
    from tests.support.oci_layout import index_layout
    from tests.support.skopeo import skopeo

    layout = index_layout(tmp_path / "src", [4096, 512], tag="1.0")
    ref = f"docker://{live_registry.host}/{repo_name}"
    skopeo("copy", "--all", "--dest-tls-verify=false", layout.ref, f"{ref}:1.0")
    index = json.loads(skopeo("inspect", "--raw", "--tls-verify=false", f"{ref}:1.0").stdout)
    child = index["manifests"][0]["digest"]
    with pytest.raises(AssertionError) as refused:  # tests.support.skopeo: exit status != 0
        skopeo("delete", "--tls-verify=false", f"{ref}@{child}")
    assert f"manifest {child} is a child of index" in str(refused.value)
    assert "delete the index first" in str(refused.value)
    skopeo("copy", "--all", "--src-tls-verify=false", f"{ref}:1.0", f"oci:{tmp_path / 'out'}:1.0")
