"""Every REST list costs the same number of queries whatever its page size: no query per
row (the benchmark in bench/api.py measures the latency at 10,000 customers)."""

from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from customers.services import customer_create, token_mint
from licensing.services import grant_add, license_create
from tests.support.registry_client import image_manifest, put_manifest

pytestmark = pytest.mark.django_db
LISTS = [
    "/api/v1/customers/",
    "/api/v1/licenses/",
    "/api/v1/tokens/",
    "/api/v1/repositories/",
    "/api/v1/audit-events/",
]


@pytest.fixture
def many(vendor, client):
    for i in range(30):
        customer, _ = customer_create(vendor=vendor, slug=f"c{i:02}")
        license = license_create(vendor=vendor, customer=customer, name=f"L{i}")
        grant_add(license=license, repository_name="acme/app", tag_rule="glob:*")
        grant_add(license=license, repository_name="acme/tools/*", tag_rule="semver:>=1")
        token_mint(vendor=vendor, customer=customer, kind="pull", name=f"t{i}")
    for i in range(12):
        _, raw = image_manifest(client, f"acme/r{i:02}")
        assert put_manifest(client, f"acme/r{i:02}", "1.0", raw).status_code == 201


def queries(admin, url: str, limit: int) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = admin.get(url, {"limit": limit})
    assert response.status_code == 200, response.content
    assert len(response.json()["results"]) == limit
    return len(captured)


@pytest.mark.parametrize("url", LISTS)
def test_queries_do_not_grow_with_the_page(admin, many, url, monkeypatch, settings):
    # A limit under twenty adds every request to the shared count at once, in one fixed
    # window: the same cache calls on every request (with batches, a request that happens
    # to flush would make one more).
    settings.API_RATE_LIMIT = "19/min"
    monkeypatch.setattr("api.access.time", SimpleNamespace(time=lambda: 7_000_010.0))
    admin.get(url)  # the window's first request creates the count
    assert queries(admin, url, 2) == queries(admin, url, 10)
