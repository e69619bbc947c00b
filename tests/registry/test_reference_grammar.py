"""The reference grammar on manifest and blob routes: exact status and OCI code per case.

Decisions (see registry/names.py `reference_outside_grammar`):

- a manifest reference that is neither a tag nor digest-shaped cannot name anything, so
  GET/HEAD/DELETE answer 404 MANIFEST_UNKNOWN (distribution-spec conformance v1.1.1
  "GET/HEAD nonexistent manifest should return 404" uses ".INVALID_MANIFEST_NAME";
  Distribution's router answers 404); PUT answers 400 MANIFEST_INVALID;
- a digest-shaped reference that is malformed or of an unsupported algorithm is
  400 DIGEST_INVALID on every method, for manifests and blobs alike (Distribution's blob
  routes answer the same; the suite accepts 400 or 404 for "sha256:totallywrong").
"""

import pytest

from tests.support.registry_client import errors, image_manifest, put_manifest, sha256

pytestmark = pytest.mark.django_db
REPO = "acme/app"

OUTSIDE_GRAMMAR = [
    ".INVALID_MANIFEST_NAME",  # the conformance suite's nonexistent manifest
    "-leading-dash",
    "a" * 129,  # one over the 128-character limit
    "tag%20with%20space",
    "ünïcode",
]
BAD_DIGESTS = [
    "sha256:totallywrong",  # the conformance suite's "400 response body" case
    "sha256:" + "0" * 63,  # one hex digit short
    "sha256:" + "A" * 64,  # upper-case hex
    "sha512:" + "0" * 64,  # sha512 with a sha256-length hex
    "md5:" + "0" * 32,  # unsupported algorithm
    "sha384:" + "0" * 96,  # unsupported algorithm
    "sha256:",
]


@pytest.fixture
def pushed(client):
    _, raw = image_manifest(client, REPO)
    assert put_manifest(client, REPO, "v1", raw).status_code == 201
    return raw


@pytest.mark.parametrize("reference", OUTSIDE_GRAMMAR)
def test_get_and_head_outside_the_grammar_is_manifest_unknown(client, pushed, reference):
    get = client.get(f"/v2/{REPO}/manifests/{reference}")
    assert get.status_code == 404
    assert errors(get) == ["MANIFEST_UNKNOWN"]
    head = client.head(f"/v2/{REPO}/manifests/{reference}")
    assert head.status_code == 404
    assert head.content == b""


@pytest.mark.parametrize("reference", OUTSIDE_GRAMMAR)
def test_delete_outside_the_grammar_is_manifest_unknown(client, pushed, reference):
    response = client.delete(f"/v2/{REPO}/manifests/{reference}")
    assert response.status_code == 404
    assert errors(response) == ["MANIFEST_UNKNOWN"]
    assert client.get(f"/v2/{REPO}/manifests/v1").status_code == 200


@pytest.mark.parametrize("reference", OUTSIDE_GRAMMAR)
def test_put_outside_the_grammar_is_manifest_invalid(client, pushed, reference):
    response = put_manifest(client, REPO, reference, pushed)
    assert response.status_code == 400
    assert errors(response) == ["MANIFEST_INVALID"]


def test_outside_the_grammar_in_an_unknown_repository_is_name_unknown(client):
    response = client.get("/v2/acme/nothing/manifests/.INVALID_MANIFEST_NAME")
    assert response.status_code == 404
    assert errors(response) == ["NAME_UNKNOWN"]
    response = client.delete("/v2/acme/nothing/manifests/.INVALID_MANIFEST_NAME")
    assert response.status_code == 404
    assert errors(response) == ["NAME_UNKNOWN"]


def test_a_128_character_tag_is_valid(client, pushed):
    tag = "t" * 128
    assert put_manifest(client, REPO, tag, pushed).status_code == 201
    assert client.get(f"/v2/{REPO}/manifests/{tag}").content == pushed
    assert client.delete(f"/v2/{REPO}/manifests/{tag}").status_code == 202
    gone = client.get(f"/v2/{REPO}/manifests/{tag}")
    assert gone.status_code == 404
    assert errors(gone) == ["MANIFEST_UNKNOWN"]


@pytest.mark.parametrize("digest", BAD_DIGESTS)
def test_bad_digest_on_manifests_is_digest_invalid(client, pushed, digest):
    for method in ("get", "delete"):
        response = getattr(client, method)(f"/v2/{REPO}/manifests/{digest}")
        assert response.status_code == 400, method
        assert errors(response) == ["DIGEST_INVALID"], method
    assert client.head(f"/v2/{REPO}/manifests/{digest}").status_code == 400
    response = put_manifest(client, REPO, digest, pushed)
    assert response.status_code == 400
    assert errors(response) == ["DIGEST_INVALID"]


@pytest.mark.parametrize("digest", [*BAD_DIGESTS, "notadigest"])
def test_bad_digest_on_blobs_is_digest_invalid(client, pushed, digest):
    for method in ("get", "delete"):
        response = getattr(client, method)(f"/v2/{REPO}/blobs/{digest}")
        assert response.status_code == 400, method
        assert errors(response) == ["DIGEST_INVALID"], method
    head = client.head(f"/v2/{REPO}/blobs/{digest}")
    assert head.status_code == 400
    assert head.content == b""


@pytest.mark.parametrize("digest", [sha256(b"absent"), "sha512:" + "0" * 128])
def test_valid_unknown_digests_are_unknown(client, pushed, digest):
    manifest = client.get(f"/v2/{REPO}/manifests/{digest}")
    assert manifest.status_code == 404
    assert errors(manifest) == ["MANIFEST_UNKNOWN"]
    assert client.head(f"/v2/{REPO}/manifests/{digest}").status_code == 404
    blob = client.get(f"/v2/{REPO}/blobs/{digest}")
    assert blob.status_code == 404
    assert errors(blob) == ["BLOB_UNKNOWN"]
    assert client.head(f"/v2/{REPO}/blobs/{digest}").status_code == 404
