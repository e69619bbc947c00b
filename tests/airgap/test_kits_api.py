"""`/api/v1/kits/`: build, list, read and download (Range) a kit with an API token; the
licenses scope; another vendor's kit is 404; a suspended license is 403 problem+json."""

import pytest
from django.test import Client

from airgap.services import kit_create
from customers.services import customer_create, token_mint, vendor_create
from licensing.models import License
from tests.airgap.conftest import kit_bytes
from tests.api.conftest import problem
from tests.conftest import license_grant

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(vendor):
    secret = token_mint(vendor=vendor, kind="api", name="crm", scopes=["write"]).secret
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def test_build_read_list_and_download_a_kit(api, customer, license):
    created = api.post(
        "/api/v1/kits/", {"customer": "globex", "newest": 1}, content_type="application/json"
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert [i["tag"] for i in body["images"]] == ["1.1"]
    assert created["Location"] == f"/api/v1/kits/{body['id']}"
    assert body["licenses"] == [license.pk]
    assert api.get(f"/api/v1/kits/{body['id']}").json() == body
    listed = api.get("/api/v1/kits/?customer=globex").json()["results"]
    assert [k["id"] for k in listed] == [body["id"]]
    part = api.get(body["download"], HTTP_RANGE="bytes=0-1023")
    assert part.status_code == 206
    assert part["Content-Range"] == f"bytes 0-1023/{body['total_size']}"
    from airgap.models import Kit

    assert b"".join(part.streaming_content) == kit_bytes(Kit.objects.get())[:1024]


def test_bad_requests_are_problems(api, customer, license):
    problem(api.post("/api/v1/kits/", {}, content_type="application/json"), 400)
    nothing = api.post(
        "/api/v1/kits/", {"customer": "globex", "tags": ["9.9"]}, content_type="application/json"
    )
    assert "none of the tags" in problem(nothing, 422)["detail"]
    problem(api.post("/api/v1/kits/", {"customer": "nobody"}, content_type="application/json"), 404)


def test_a_suspended_license_is_403_and_another_vendors_kit_404(api, customer, license):
    kit = kit_create(customer=customer)
    License.objects.filter(pk=license.pk).update(status=License.Status.SUSPENDED)
    refused = problem(api.get(f"/api/v1/kits/{kit.pk}/download"), 403)
    assert refused["detail"] == "this kit was built under license 'Support 1.x' is suspended"
    umbrella = vendor_create(slug="umbrella", name="Umbrella")[0]
    secret = token_mint(vendor=umbrella, kind="api", name="x", scopes=["write"]).secret
    other = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    problem(other.get(f"/api/v1/kits/{kit.pk}"), 404)
    problem(other.get(f"/api/v1/kits/{kit.pk}/download"), 404)


def test_a_read_token_cannot_build(vendor, customer, license):
    secret = token_mint(vendor=vendor, kind="api", name="r", scopes=["read"]).secret
    reader = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    response = reader.post("/api/v1/kits/", {"customer": "globex"}, content_type="application/json")
    problem(response, 403)
    assert reader.get("/api/v1/kits/").status_code == 200


def test_kits_of_another_customer_are_listed_by_customer(api, vendor, customer, license):
    from tests.support.licensing import REPO

    other, _ = customer_create(vendor=vendor, slug="initial", name="Initial")
    license_grant(other, REPO, "glob:*", name="All")
    kit_create(customer=other)
    assert api.get("/api/v1/kits/?customer=globex").json()["results"] == []


def test_deleting_a_kit_is_audited_and_ends_its_downloads(api, customer, license):
    from customers.models import AuditEvent

    kit = kit_create(customer=customer)
    assert api.delete(f"/api/v1/kits/{kit.pk}").status_code == 204
    event = AuditEvent.objects.get(action=AuditEvent.Action.KIT_DELETED)
    assert event.target == f"kit:{kit.pk}"
    problem(api.get(f"/api/v1/kits/{kit.pk}/download"), 404)
