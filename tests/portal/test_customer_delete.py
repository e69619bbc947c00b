"""Deleting a customer in the console: vendor admins only, a suspended customer only,
behind a confirmation; its users lose the portal and its tokens the registry from the
next request; the audit log keeps what went."""

import base64

import pytest
from django.test import Client

from customers.models import AccessToken, AuditEvent, Customer
from customers.services import customer_set_suspended, token_mint
from tests.portal.conftest import messages_text, sign_in

pytestmark = pytest.mark.django_db


def delete_path(customer) -> str:
    return f"/p/acme/console/customers/{customer.slug}/delete"


def basic(user: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()


def test_an_active_customer_cannot_be_deleted(acme, acme_admin, customer):
    admin = sign_in(acme_admin, acme)
    page = admin.get(f"/p/acme/console/customers/{customer.slug}/").content.decode()
    assert "To delete this customer, suspend it first." in page and "Delete customer" not in page
    response = admin.post(delete_path(customer), {"confirmed": "1"}, follow=True)
    assert "Suspend the customer first" in messages_text(response)
    assert Customer.objects.filter(pk=customer.pk).exists()


def test_an_admin_deletes_a_suspended_customer_after_confirming(
    acme, acme_admin, customer, globex_member
):
    secret = token_mint(vendor=acme, kind="pull", name="prod", customer=customer).secret
    customer_set_suspended(customer=customer, suspended=True)
    admin = sign_in(acme_admin, acme)
    page = admin.get(f"/p/acme/console/customers/{customer.slug}/").content.decode()
    assert "Delete customer" in page
    ask = admin.post(delete_path(customer))
    assert ask.status_code == 200 and "cannot be undone" in ask.content.decode()
    assert "no-store" in ask["Cache-Control"]
    assert Customer.objects.filter(pk=customer.pk).exists()  # asking changes nothing
    done = admin.post(delete_path(customer), {"confirmed": "1"})
    assert done.status_code == 302 and done["Location"] == "/p/acme/console/customers/"
    assert not Customer.objects.filter(pk=customer.pk).exists()
    assert not AccessToken.objects.filter(customer_id=customer.pk).exists()
    event = AuditEvent.objects.get(action="customer.deleted")
    assert event.actor == f"user:{acme_admin.pk}" and event.details["tokens"] == 1
    # The token is refused and the former member has no portal.
    refused = Client().get("/v2/", HTTP_AUTHORIZATION=basic("globex", secret))
    assert refused.status_code == 401
    member = sign_in(globex_member, acme)
    assert member.get("/p/acme/overview/").status_code == 403


@pytest.mark.parametrize("role", ["acme_viewer", "acme_maintainer"])
def test_other_staff_cannot_delete(request, acme, customer, role):
    customer_set_suspended(customer=customer, suspended=True)
    staff = sign_in(request.getfixturevalue(role), acme)
    page = staff.get(f"/p/acme/console/customers/{customer.slug}/").content.decode()
    assert "Delete customer" not in page
    assert staff.post(delete_path(customer), {"confirmed": "1"}).status_code == 403
    assert Customer.objects.filter(pk=customer.pk).exists()
