"""The portal's artifact list and the registry's own listings give one answer for one
customer: both ask registry.access (visible_repository_names, visible_tags)."""

import pytest
from django.test import Client

from customers.services import token_mint
from licensing.services import license_set_status
from portal.selectors import customer_artifacts
from tests.conftest import basic, license_grant
from tests.support.registry_client import image_manifest, put_manifest

pytestmark = pytest.mark.django_db

LICENSE_SETS = {
    "every tag of one repository": [("acme/app", "glob:*")],
    "one tag by glob": [("acme/app", "glob:1.*")],
    "a semver range": [("acme/app", "semver:>=2.0")],
    "an exact tag and a pattern": [("acme/app", "exact:2.0"), ("acme/tools/*", "glob:*")],
    "a repository not pushed yet": [("acme/later", "glob:*")],
    "nothing": [],
}


@pytest.fixture
def content(client):
    for repository, tags in {
        "acme/app": ["1.0", "1.1", "2.0", "latest"],
        "acme/tools/cli": ["0.9"],
        "acme/internal": ["1.0"],
    }.items():
        for tag in tags:
            _, raw = image_manifest(client, repository, layers=1, annotations={"t": tag})
            assert put_manifest(client, repository, tag, raw).status_code == 201


def registry_view(secret) -> dict[str, list[str]]:
    c = Client(HTTP_AUTHORIZATION=basic(secret))
    catalog = c.get("/v2/_catalog")
    assert catalog.status_code == 200
    listed = {}
    for name in catalog.json()["repositories"]:
        tags = c.get(f"/v2/{name}/tags/list")
        assert tags.status_code == 200
        listed[name] = sorted(tags.json()["tags"])
    return listed


def portal_view(vendor, customer) -> dict[str, list[str]]:
    return {
        artifact.name: sorted(t.name for t in artifact.tags)
        for artifact in customer_artifacts(vendor=vendor, customer=customer)
    }


@pytest.mark.parametrize("licenses", LICENSE_SETS)
def test_portal_artifacts_and_registry_listings_agree(licenses, vendor, customer, content):
    for repository, rule in LICENSE_SETS[licenses]:
        license_grant(customer, repository, rule)
    secret = token_mint(vendor=vendor, customer=customer, kind="pull", name="t").secret
    assert portal_view(vendor, customer) == registry_view(secret)


def test_they_agree_after_a_license_is_suspended(vendor, customer, content):
    license_grant(customer, "acme/app", "glob:*")
    other = license_grant(customer, "acme/tools/*", "glob:*")
    secret = token_mint(vendor=vendor, customer=customer, kind="pull", name="t").secret
    assert set(portal_view(vendor, customer)) == {"acme/app", "acme/tools/cli"}
    license_set_status(license=other, status="suspended")
    assert (
        portal_view(vendor, customer)
        == registry_view(secret)
        == {"acme/app": ["1.0", "1.1", "2.0", "latest"]}
    )
