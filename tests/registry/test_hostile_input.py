"""Hostile input gets a 4xx with an OCI error body, never an unhandled 500.

Some of these only failed on PostgreSQL (NUL and lone surrogates in text); run this file
with DATABASE_URL=postgres://… too. On SQLite they must give the same answers.
"""

import json

import pytest

from registry.models import Manifest, Repository
from tests.support.registry_client import (
    OCI_INDEX,
    errors,
    image_manifest,
    put_manifest,
)

pytestmark = pytest.mark.django_db
REPO = "acme/app"


def put_index(client, raw: bytes, reference: str = "v1"):
    return put_manifest(client, REPO, reference, raw, media_type=OCI_INDEX)


def assert_manifest_invalid(response) -> None:
    assert response.status_code == 400, response.content
    assert errors(response) == ["MANIFEST_INVALID"]
    assert Manifest.objects.filter(repository__name=REPO).count() == 0


# R3: errors from deep inside the parser or the database.


def test_deeply_nested_manifest_is_manifest_invalid(client):
    raw = b'{"schemaVersion": 2, "mediaType": "%s", "manifests": [], "annotations": %s}' % (
        OCI_INDEX.encode(),
        b"[" * 1000 + b"]" * 1000,
    )
    assert len(raw) < 2200
    response = put_index(client, raw)
    assert_manifest_invalid(response)
    assert "nested" in response.json()["errors"][0]["message"]


@pytest.mark.parametrize("text", ["\\u0000", "\\ud800", "a\\udfffb"])
@pytest.mark.parametrize("where", ["value", "key"])
def test_nul_or_lone_surrogate_in_an_annotation_is_manifest_invalid(client, text, where):
    annotation = f'"{text}": "x"' if where == "key" else f'"k": "{text}"'
    raw = (
        f'{{"schemaVersion": 2, "mediaType": "{OCI_INDEX}", "manifests": [],'
        f' "annotations": {{{annotation}}}}}'
    ).encode()
    assert_manifest_invalid(put_index(client, raw))


def test_nul_in_an_artifact_type_is_manifest_invalid(client):
    raw = (
        f'{{"schemaVersion": 2, "mediaType": "{OCI_INDEX}", "manifests": [],'
        f' "artifactType": "application/x\\u0000"}}'
    ).encode()
    assert_manifest_invalid(put_index(client, raw))


def test_huge_number_in_content_range_is_blob_upload_invalid(client):
    response = client.post(f"/v2/{REPO}/blobs/uploads/")
    assert response.status_code == 202
    location = response["Location"]
    huge = "9" * 5000
    for content_range in (f"0-{huge}", f"{huge}-{huge}"):
        response = client.generic(
            "PATCH",
            location,
            data=b"0123456789",
            content_type="application/octet-stream",
            headers={"Content-Range": content_range},
        )
        assert response.status_code == 400, response.content
        assert errors(response) == ["BLOB_UPLOAD_INVALID"]
    # The upload is untouched and goes on.
    response = client.generic(
        "PATCH",
        location,
        data=b"0123456789",
        content_type="application/octet-stream",
        headers={"Content-Range": "0-9"},
    )
    assert response.status_code == 202


# `last` is a cursor (a tag or repository name), so one that cannot be a name is NAME_INVALID.


@pytest.fixture
def public_repo(client):
    _, raw = image_manifest(client, "acme/pub")
    assert put_manifest(client, "acme/pub", "v1", raw).status_code == 201
    Repository.objects.filter(name="acme/pub").update(is_public=True)


@pytest.mark.parametrize("last", ["%00", "a%00b"])
def test_nul_in_tags_list_last_is_name_invalid(anonymous_client, public_repo, last):
    response = anonymous_client.get(f"/v2/acme/pub/tags/list?last={last}")
    assert response.status_code == 400, response.content
    assert errors(response) == ["NAME_INVALID"]


@pytest.mark.parametrize("last", ["%00", "acme%00"])
def test_nul_in_catalog_last_is_name_invalid(client, last):
    response = client.get(f"/v2/_catalog?last={last}")
    assert response.status_code == 400, response.content
    assert errors(response) == ["NAME_INVALID"]


def test_other_odd_cursors_are_just_compared(anonymous_client, client, public_repo):
    """Invalid UTF-8 arrives decoded with U+FFFD; a cursor past every name lists nothing."""
    response = anonymous_client.get("/v2/acme/pub/tags/list?last=%ED%A0%80")
    assert response.status_code == 200
    assert response.json()["tags"] == []
    assert client.get("/v2/_catalog?last=%01").status_code == 200


def test_surrogate_pairs_and_other_text_are_fine(client):
    raw = (
        f'{{"schemaVersion": 2, "mediaType": "{OCI_INDEX}", "manifests": [],'
        f' "annotations": {{"emoji": "\\ud83d\\ude00", "tab": "a\\tb"}}}}'
    ).encode()
    response = put_index(client, raw)
    assert response.status_code == 201, response.content
    stored = Manifest.objects.get(repository__name=REPO)
    assert stored.annotations == {"emoji": "\U0001f600", "tab": "a\tb"}


# R4: documents other clients and registries reject are not stored either.


def index_text(body: str) -> bytes:
    return f'{{"schemaVersion": 2, "mediaType": "{OCI_INDEX}", {body}}}'.encode()


@pytest.mark.parametrize("version", ["2.0", "2e0", "true", '"2"', "null"])
def test_schema_version_must_be_the_integer_2(client, version):
    raw = f'{{"schemaVersion": {version}, "mediaType": "{OCI_INDEX}", "manifests": []}}'.encode()
    response = put_index(client, raw)
    assert_manifest_invalid(response)
    assert response.json()["errors"][0]["message"] == "schemaVersion must be the integer 2"


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
@pytest.mark.parametrize(
    "body",
    [
        '"manifests": [], "x": {c}',
        '"manifests": [], "annotations": {{}}, "extra": [1, {c}]',
        '"manifests": [{{"mediaType": "a/b", "size": {c}, "digest": "sha256:' + "0" * 64 + '"}}]',
    ],
)
def test_nan_and_infinity_are_manifest_invalid(client, constant, body):
    response = put_index(client, index_text(body.format(c=constant)))
    assert_manifest_invalid(response)
    assert constant in response.json()["errors"][0]["message"]


@pytest.mark.parametrize(
    ("body", "key"),
    [
        (f'"mediaType": "{OCI_INDEX}", "manifests": []', "mediaType"),
        ('"manifests": [], "manifests": []', "manifests"),
        ('"manifests": [], "annotations": {"a": "1", "a": "2"}', "a"),
    ],
)
def test_duplicate_keys_are_manifest_invalid(client, body, key):
    response = put_index(client, index_text(body))
    assert_manifest_invalid(response)
    assert response.json()["errors"][0]["message"] == f"duplicate key {key!r} in manifest"


def test_duplicate_layers_in_an_image_manifest_are_manifest_invalid(client):
    manifest, _ = image_manifest(client, REPO)
    layers = json.dumps(manifest["layers"])
    raw = json.dumps(manifest)[:-1].encode() + f', "layers": {layers}}}'.encode()
    response = put_manifest(client, REPO, "v1", raw)
    assert_manifest_invalid(response)
    assert response.json()["errors"][0]["message"] == "duplicate key 'layers' in manifest"
