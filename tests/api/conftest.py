import pytest
from django.test import Client

from customers.services import customer_create, vendor_create
from tests.portal.conftest import staff_user


@pytest.fixture
def other_vendor(db):
    return vendor_create(slug="umbrella", name="Umbrella")[0]


@pytest.fixture
def admin(vendor) -> Client:
    """acme's admin, signed in (session authentication)."""
    client = Client()
    client.force_login(staff_user(vendor, "admin@acme.test", "admin"))
    return client


@pytest.fixture
def viewer(vendor) -> Client:
    client = Client()
    client.force_login(staff_user(vendor, "viewer@acme.test", "viewer"))
    return client


@pytest.fixture
def globex(vendor):
    return customer_create(vendor=vendor, slug="globex", name="Globex")[0]


def problem(response, status: int) -> dict:
    """The RFC 9457 body of an error answer, after checking its status and type."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    assert set(body) >= {"type", "title", "status", "detail"}
    return body
