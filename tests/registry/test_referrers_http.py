"""The referrers API over HTTP: subject, artifactType, filtering, OCI-Subject header."""

import json

import pytest

from tests.support.registry_client import (
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
EMPTY = b"{}"


def referrer(client, subject_raw: bytes, artifact_type: str, **extra) -> bytes:
    empty = push_blob(client, REPO, EMPTY)
    payload = push_blob(client, REPO, artifact_type.encode() * 3)
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": artifact_type,
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", **empty},
        "layers": [{"mediaType": "application/octet-stream", **payload}],
        "subject": {
            "mediaType": OCI_MANIFEST,
            "digest": sha256(subject_raw),
            "size": len(subject_raw),
        },
        **extra,
    }
    return json.dumps(manifest).encode()


@pytest.fixture
def subject(client):
    _, raw = image_manifest(client, REPO)
    put_manifest(client, REPO, "v1", raw)
    return raw


def test_put_with_subject_returns_oci_subject(client, subject):
    raw = referrer(client, subject, "application/vnd.example.sig.v1")
    response = put_manifest(client, REPO, sha256(raw), raw)
    assert response.status_code == 201
    assert response["OCI-Subject"] == sha256(subject)


def test_referrers_lists_descriptors_and_filters(client, subject):
    sig = referrer(client, subject, "application/vnd.example.sig.v1", annotations={"k": "v"})
    sbom = referrer(client, subject, "application/vnd.example.sbom.v1")
    put_manifest(client, REPO, sha256(sig), sig)
    put_manifest(client, REPO, sha256(sbom), sbom)

    response = client.get(f"/v2/{REPO}/referrers/{sha256(subject)}")
    assert response.status_code == 200
    assert response["Content-Type"] == OCI_INDEX
    index = response.json()
    assert index["schemaVersion"] == 2 and index["mediaType"] == OCI_INDEX
    assert sorted(index["manifests"], key=lambda d: d["artifactType"]) == [
        {
            "mediaType": OCI_MANIFEST,
            "digest": sha256(sbom),
            "size": len(sbom),
            "artifactType": "application/vnd.example.sbom.v1",
        },
        {
            "mediaType": OCI_MANIFEST,
            "digest": sha256(sig),
            "size": len(sig),
            "artifactType": "application/vnd.example.sig.v1",
            "annotations": {"k": "v"},
        },
    ]
    filtered = client.get(
        f"/v2/{REPO}/referrers/{sha256(subject)}?artifactType=application/vnd.example.sbom.v1"
    )
    assert filtered["OCI-Filters-Applied"] == "artifactType"
    assert [d["digest"] for d in filtered.json()["manifests"]] == [sha256(sbom)]
    assert "OCI-Filters-Applied" not in response


def test_artifact_type_falls_back_to_config_media_type(client, subject):
    config = push_blob(client, REPO, b'{"kind": "legacy"}')
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.example.legacy.config.v1+json", **config},
        "layers": [],
        "subject": {"mediaType": OCI_MANIFEST, "digest": sha256(subject), "size": len(subject)},
    }
    raw = json.dumps(manifest).encode()
    put_manifest(client, REPO, sha256(raw), raw)
    listed = client.get(f"/v2/{REPO}/referrers/{sha256(subject)}").json()["manifests"]
    assert listed[0]["artifactType"] == "application/vnd.example.legacy.config.v1+json"


def test_referrer_may_arrive_before_its_subject(client):
    future = b'{"not": "pushed yet"}'
    raw = referrer(client, future, "application/vnd.example.sig.v1")
    assert put_manifest(client, REPO, sha256(raw), raw).status_code == 201
    listed = client.get(f"/v2/{REPO}/referrers/{sha256(future)}").json()["manifests"]
    assert [d["digest"] for d in listed] == [sha256(raw)]


def test_no_referrers_is_an_empty_index_not_404(client, subject):
    for repo in (REPO, "acme/unknown"):
        response = client.get(f"/v2/{repo}/referrers/{sha256(b'nothing')}")
        assert response.status_code == 200
        assert response.json() == {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}


def test_referrers_with_invalid_digest_is_400(client):
    response = client.get(f"/v2/{REPO}/referrers/sha256:nothex")
    assert response.status_code == 400
    assert errors(response) == ["DIGEST_INVALID"]


def test_deleting_a_referrer_removes_it_from_the_list(client, subject):
    raw = referrer(client, subject, "application/vnd.example.sig.v1")
    put_manifest(client, REPO, sha256(raw), raw)
    client.delete(f"/v2/{REPO}/manifests/{sha256(raw)}")
    assert client.get(f"/v2/{REPO}/referrers/{sha256(subject)}").json()["manifests"] == []
