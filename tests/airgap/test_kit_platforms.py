"""The platform filter's rules (airgap.content.platform_split) and its inputs: the API
validates platforms, single-platform manifests are not filtered. The end to end case (a
two-platform index filtered to one, with docker load, skopeo and import.sh) is in
tests/clients/test_kits.py."""

import json

import pytest
from django.test import Client

from airgap.content import platform_split
from customers.services import token_mint
from tests.api.conftest import problem

INDEX = json.dumps(
    {
        "schemaVersion": 2,
        "manifests": [
            {"digest": "sha256:a", "platform": {"os": "linux", "architecture": "amd64"}},
            {
                "digest": "sha256:b",
                "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"},
            },  # fmt: skip
            {
                "digest": "sha256:c",
                "platform": {"os": "unknown", "architecture": "unknown"},
                "annotations": {"vnd.docker.reference.digest": "sha256:a"},
            },  # fmt: skip
            {
                "digest": "sha256:d",
                "platform": {"os": "unknown", "architecture": "unknown"},
                "annotations": {"vnd.docker.reference.digest": "sha256:b"},
            },  # fmt: skip
            {"digest": "sha256:e"},
        ],
    }
).encode()


def test_the_selected_platform_its_attestation_and_platformless_children_are_kept():
    kept, left = platform_split(INDEX, ["linux/amd64"])
    assert kept == [("linux/amd64", "sha256:a"), ("", "sha256:c"), ("", "sha256:e")]
    assert left == ["linux/arm64/v8"]


def test_a_platform_without_variant_matches_every_variant_but_not_the_reverse():
    assert platform_split(INDEX, ["linux/arm64"])[1] == ["linux/amd64"]
    kept, left = platform_split(INDEX, ["linux/arm64/v7"])
    assert [d for _, d in kept] == ["sha256:e"]
    assert left == ["linux/amd64", "linux/arm64/v8"]


@pytest.mark.django_db
def test_the_api_validates_platforms_and_does_not_filter_single_platform_images(
    vendor, customer, license
):
    secret = token_mint(vendor=vendor, kind="api", name="crm", scopes=["write"]).secret
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    bad = api.post(
        "/api/v1/kits/",
        {"customer": "globex", "platforms": ["amd64"]},
        content_type="application/json",
    )
    problem(bad, 400)
    created = api.post(
        "/api/v1/kits/",
        {"customer": "globex", "platforms": ["linux/s390x"]},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    assert [i["tag"] for i in created.json()["images"]] == ["1.0", "1.1"]
