"""Manifest push and pull over HTTP: media types, digests, byte-exact bodies, validation."""

import json

import pytest

from registry.models import Manifest, ManifestReference, Tag
from tests.support.registry_client import (
    DOCKER_LIST,
    DOCKER_MANIFEST,
    OCI_INDEX,
    OCI_MANIFEST,
    errors,
    image_manifest,
    push_blob,
    put_manifest,
    sha256,
)

pytestmark = pytest.mark.django_db
REPO = "acme/app"


def test_put_by_tag_then_get_returns_exact_bytes_and_headers(client):
    _, raw = image_manifest(client, REPO, layers=2)
    response = put_manifest(client, REPO, "v1", raw)
    assert response.status_code == 201
    assert response["Docker-Content-Digest"] == sha256(raw)
    assert response["Location"] == f"/v2/{REPO}/manifests/{sha256(raw)}"
    assert "OCI-Subject" not in response

    for reference in ("v1", sha256(raw)):
        got = client.get(f"/v2/{REPO}/manifests/{reference}")
        assert got.status_code == 200
        assert got.content == raw
        assert got["Content-Type"] == OCI_MANIFEST
        assert got["Docker-Content-Digest"] == sha256(raw)
        assert got["Content-Length"] == str(len(raw))
        assert got["Docker-Distribution-API-Version"] == "registry/2.0"


def test_head_manifest_has_headers_and_no_body(client):
    _, raw = image_manifest(client, REPO)
    put_manifest(client, REPO, "v1", raw)
    response = client.head(f"/v2/{REPO}/manifests/v1")
    assert response.status_code == 200
    assert response.content == b""
    assert response["Content-Length"] == str(len(raw))
    assert response["Docker-Content-Digest"] == sha256(raw)


def test_put_records_references_to_every_blob(client):
    manifest, raw = image_manifest(client, REPO, layers=3)
    put_manifest(client, REPO, "v1", raw)
    stored = Manifest.objects.get(digest=sha256(raw))
    referenced = set(
        ManifestReference.objects.filter(manifest=stored).values_list("blob_id", flat=True)
    )
    expected = {manifest["config"]["digest"]} | {layer["digest"] for layer in manifest["layers"]}
    assert referenced == expected


def test_put_by_digest_must_match_the_bytes(client):
    _, raw = image_manifest(client, REPO)
    good = put_manifest(client, REPO, sha256(raw), raw)
    assert good.status_code == 201
    assert not Tag.objects.filter(repository__name=REPO).exists()  # by digest: no tag

    wrong = sha256(b"something else")
    bad = put_manifest(client, REPO, wrong, raw)
    assert bad.status_code == 400
    assert errors(bad) == ["DIGEST_INVALID"]
    assert not Manifest.objects.filter(digest=wrong).exists()


def test_put_by_sha512_digest(client):
    import hashlib

    _, raw = image_manifest(client, REPO)
    digest = f"sha512:{hashlib.sha512(raw).hexdigest()}"
    response = put_manifest(client, REPO, digest, raw)
    assert response.status_code == 201
    assert response["Docker-Content-Digest"] == digest
    assert client.get(f"/v2/{REPO}/manifests/{digest}").content == raw


def test_moving_a_tag_points_it_at_the_new_manifest(client):
    _, first = image_manifest(client, REPO)
    _, second = image_manifest(client, REPO, layers=2)
    put_manifest(client, REPO, "latest", first)
    put_manifest(client, REPO, "latest", second)
    assert client.get(f"/v2/{REPO}/manifests/latest").content == second
    assert client.get(f"/v2/{REPO}/manifests/{sha256(first)}").content == first  # still there


def test_manifest_naming_a_missing_blob_is_refused(client):
    manifest, _ = image_manifest(client, REPO)
    missing = sha256(b"never uploaded")
    manifest["layers"].append(
        {"mediaType": "application/octet-stream", "digest": missing, "size": 14}
    )
    response = put_manifest(client, REPO, "v1", json.dumps(manifest).encode())
    assert response.status_code == 400
    body = response.json()["errors"][0]
    assert body["code"] == "MANIFEST_BLOB_UNKNOWN"
    assert body["detail"] == {"digest": missing}
    assert not Tag.objects.filter(repository__name=REPO, name="v1").exists()


def test_blob_in_another_repository_does_not_count(client):
    other = push_blob(client, "acme/other", b"layer in another repository")
    manifest, _ = image_manifest(client, REPO)
    manifest["layers"] = [{"mediaType": "application/octet-stream", **other}]
    response = put_manifest(client, REPO, "v1", json.dumps(manifest).encode())
    assert errors(response) == ["MANIFEST_BLOB_UNKNOWN"]


def test_descriptor_size_must_match_the_blob(client):
    manifest, _ = image_manifest(client, REPO)
    manifest["layers"][0]["size"] += 1
    response = put_manifest(client, REPO, "v1", json.dumps(manifest).encode())
    assert response.status_code == 400
    assert errors(response) == ["MANIFEST_INVALID"]


def test_foreign_layers_need_not_be_pushed(client):
    manifest, _ = image_manifest(client, REPO, media_type=DOCKER_MANIFEST)
    manifest["layers"].append(
        {
            "mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
            "digest": sha256(b"windows base layer"),
            "size": 18,
            "urls": ["https://example.invalid/layer"],
        }
    )
    raw = json.dumps(manifest).encode()
    response = put_manifest(client, REPO, "win", raw, media_type=DOCKER_MANIFEST)
    assert response.status_code == 201
    assert client.get(f"/v2/{REPO}/manifests/win")["Content-Type"] == DOCKER_MANIFEST


@pytest.mark.parametrize(
    "media_type, list_type", [(OCI_MANIFEST, OCI_INDEX), (DOCKER_MANIFEST, DOCKER_LIST)]
)
def test_index_requires_its_children(client, media_type, list_type):
    _, child = image_manifest(client, REPO, media_type=media_type)
    index = {
        "schemaVersion": 2,
        "mediaType": list_type,
        "manifests": [
            {
                "mediaType": media_type,
                "digest": sha256(child),
                "size": len(child),
                "platform": {"architecture": "amd64", "os": "linux"},
            }
        ],
    }
    raw = json.dumps(index).encode()
    refused = put_manifest(client, REPO, "multi", raw, media_type=list_type)
    assert refused.status_code == 400
    assert errors(refused) == ["MANIFEST_BLOB_UNKNOWN"]

    put_manifest(client, REPO, sha256(child), child, media_type=media_type)
    accepted = put_manifest(client, REPO, "multi", raw, media_type=list_type)
    assert accepted.status_code == 201
    got = client.get(f"/v2/{REPO}/manifests/multi")
    assert got.content == raw
    assert got["Content-Type"] == list_type
    stored = Manifest.objects.get(digest=sha256(raw))
    assert list(stored.references.values_list("child__digest", flat=True)) == [sha256(child)]


@pytest.mark.parametrize(
    "raw, content_type",
    [
        (b"{not json", OCI_MANIFEST),
        (b"[]", OCI_MANIFEST),
        (b'{"schemaVersion": 1}', OCI_MANIFEST),
        (
            b'{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json"}',
            OCI_MANIFEST,
        ),
        (
            b'{"schemaVersion": 2, "layers": [],'
            b' "config": {"mediaType": "x", "digest": "sha256:00", "size": 1}}',
            OCI_MANIFEST,
        ),
        (
            b'{"schemaVersion": 2, "config": {"mediaType": "x", "digest": "sha256:'
            + b"0" * 64
            + b'", "size": -1}, "layers": []}',
            OCI_MANIFEST,
        ),
        (b'{"schemaVersion": 2, "manifests": "nope"}', OCI_INDEX),
        (
            b'{"schemaVersion": 2, "manifests": [],'
            b' "mediaType": "application/vnd.oci.image.index.v1+json"}',
            OCI_MANIFEST,
        ),
        (
            b'{"schemaVersion": 2, "manifests": []}',
            "application/vnd.docker.distribution.manifest.v1+prettyjws",
        ),
        (b'{"schemaVersion": 2, "manifests": [], "annotations": {"a": 1}}', OCI_INDEX),
        (b"\xff\xfe", OCI_MANIFEST),
    ],
    ids=[
        "invalid-json",
        "not-an-object",
        "schema-1",
        "no-config",
        "bad-config-digest",
        "negative-size",
        "manifests-not-array",
        "media-type-mismatch",
        "unsupported-media-type",
        "annotation-not-string",
        "not-utf8",
    ],
)
def test_invalid_manifests_are_refused(client, raw, content_type):
    response = put_manifest(client, REPO, "bad", raw, media_type=content_type)
    assert response.status_code == 400
    assert errors(response) == ["MANIFEST_INVALID"]
    assert response.json()["errors"][0]["message"]
    assert not Tag.objects.filter(name="bad").exists()


def test_oversize_manifest_is_refused_with_413(client, settings):
    settings.REGISTRY_MANIFEST_MAX_BYTES = 1024
    manifest, _ = image_manifest(client, REPO, annotations={"pad": "x" * 2000})
    response = put_manifest(client, REPO, "big", json.dumps(manifest).encode())
    assert response.status_code == 413
    assert errors(response) == ["SIZE_INVALID"]
    assert not Tag.objects.filter(name="big").exists()


def test_four_mib_manifest_is_accepted(client):
    manifest, _ = image_manifest(client, REPO)
    raw = json.dumps(manifest).encode()
    manifest["annotations"] = {"pad": "x" * (4 * 1024 * 1024 - len(raw) - 100)}
    raw = json.dumps(manifest).encode()
    assert 4 * 1024 * 1024 - 200 < len(raw) <= 4 * 1024 * 1024
    assert put_manifest(client, REPO, "large", raw).status_code == 201
    assert client.get(f"/v2/{REPO}/manifests/large").content == raw


def test_unknown_manifest_and_unknown_repository(client):
    _, raw = image_manifest(client, REPO)
    put_manifest(client, REPO, "v1", raw)
    missing_tag = client.get(f"/v2/{REPO}/manifests/nope")
    assert missing_tag.status_code == 404
    assert errors(missing_tag) == ["MANIFEST_UNKNOWN"]
    missing_digest = client.get(f"/v2/{REPO}/manifests/{sha256(b'x')}")
    assert errors(missing_digest) == ["MANIFEST_UNKNOWN"]
    missing_repo = client.get("/v2/acme/nothing/manifests/v1")
    assert missing_repo.status_code == 404
    assert errors(missing_repo) == ["NAME_UNKNOWN"]
    head = client.head(f"/v2/{REPO}/manifests/nope")
    assert head.status_code == 404
    assert head.content == b""


@pytest.mark.parametrize(
    "reference, code",
    [
        ("-bad", "MANIFEST_INVALID"),
        ("a" * 129, "MANIFEST_INVALID"),
        ("sha256:xyz", "DIGEST_INVALID"),
        ("md5:" + "0" * 32, "DIGEST_INVALID"),
    ],
)
def test_invalid_reference(client, reference, code):
    """PUT refuses every invalid reference; what GET answers is in test_reference_grammar."""
    _, raw = image_manifest(client, REPO)
    response = put_manifest(client, REPO, reference, raw)
    assert response.status_code == 400
    assert errors(response) == [code]


def test_refused_manifest_does_not_create_a_repository(client):
    from registry.models import Repository

    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "x", "digest": sha256(b"c"), "size": 1},
        "layers": [],
    }
    response = put_manifest(client, "acme/fresh", "v1", json.dumps(manifest).encode())
    assert errors(response) == ["MANIFEST_BLOB_UNKNOWN"]
    assert not Repository.objects.filter(name="acme/fresh").exists()
