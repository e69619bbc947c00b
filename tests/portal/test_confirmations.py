"""Destructive console and portal actions ask first, server-side: a POST without
`confirmed=1` answers a page saying what will happen and changes nothing."""

import pytest

from customers.models import AccessToken, AuditEvent, Customer
from customers.services import token_mint
from licensing.models import License
from registry.models import Tag
from tests.conftest import license_grant
from tests.portal.conftest import sign_in

pytestmark = pytest.mark.django_db


def asks(response, title: str) -> str:
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    page = response.content.decode()
    assert f"<h1>{title}</h1>" in page
    assert '<input type="hidden" name="confirmed" value="1">' in page
    return page


def test_revoking_a_pull_token_asks_then_revokes(acme, customer, globex_admin):
    token = token_mint(vendor=acme, customer=customer, kind="pull", name="prod").token
    token.created_by = globex_admin
    token.save()
    c = sign_in(globex_admin, acme)
    page = asks(c.post(f"/p/acme/tokens/{token.pk}/revoke"), "Revoke token “prod”?")
    assert 'href="/p/acme/tokens/"' in page  # Cancel goes back
    assert AccessToken.objects.get(pk=token.pk).revoked_at is None
    assert c.post(f"/p/acme/tokens/{token.pk}/revoke", {"confirmed": "1"}).status_code == 302
    assert AccessToken.objects.get(pk=token.pk).revoked_at is not None


def test_revoking_a_ci_token_asks_then_revokes(acme, acme_admin):
    token = token_mint(vendor=acme, kind="push", name="ci").token
    c = sign_in(acme_admin, acme)
    asks(c.post(f"/p/acme/console/tokens/{token.pk}/revoke"), "Revoke CI token “ci”?")
    assert AccessToken.objects.get(pk=token.pk).revoked_at is None
    c.post(f"/p/acme/console/tokens/{token.pk}/revoke", {"confirmed": "1"})
    assert AccessToken.objects.get(pk=token.pk).revoked_at is not None


def test_deleting_a_tag_asks_and_keeps_the_reference(acme, acme_admin, pushed):
    c = sign_in(acme_admin, acme)
    url = "/p/acme/console/repositories/acme/app/delete"
    page = asks(c.post(url, {"reference": "1.1"}), "Delete tag 1.1 of acme/app?")
    assert '<input type="hidden" name="reference" value="1.1">' in page
    assert Tag.objects.filter(repository__name="acme/app", name="1.1").exists()
    c.post(url, {"reference": "1.1", "confirmed": "1"})
    assert not Tag.objects.filter(repository__name="acme/app", name="1.1").exists()


def test_suspending_a_customer_asks_resuming_does_not(acme, acme_admin, customer):
    c = sign_in(acme_admin, acme)
    url = "/p/acme/console/customers/globex/suspend"
    asks(c.post(url, {"suspend": "1"}), "Suspend Globex?")
    assert Customer.objects.get(pk=customer.pk).suspended_at is None
    c.post(url, {"suspend": "1", "confirmed": "1"})
    assert Customer.objects.get(pk=customer.pk).suspended_at is not None
    assert c.post(url, {"suspend": "0"}).status_code == 302  # undoing needs no question
    assert Customer.objects.get(pk=customer.pk).suspended_at is None


def test_suspending_a_license_asks_reactivating_does_not(acme, acme_admin, customer):
    license = license_grant(customer, "acme/app", name="Support")
    c = sign_in(acme_admin, acme)
    url = f"/p/acme/console/licenses/{license.pk}/status"
    asks(c.post(url, {"status": "suspended"}), "Suspend license “Support”?")
    assert License.objects.get(pk=license.pk).status == "active"
    c.post(url, {"status": "suspended", "confirmed": "1"})
    assert License.objects.get(pk=license.pk).status == "suspended"
    assert c.post(url, {"status": "active"}).status_code == 302
    assert License.objects.get(pk=license.pk).status == "active"


def test_deleting_a_license_asks_then_deletes_and_audits(acme, acme_admin, acme_viewer, customer):
    license = license_grant(customer, "acme/app", name="Support")
    url = f"/p/acme/console/licenses/{license.pk}/delete"
    assert sign_in(acme_viewer, acme).post(url, {"confirmed": "1"}).status_code == 403
    c = sign_in(acme_admin, acme)
    asks(c.post(url), "Delete license “Support”?")
    assert License.objects.filter(pk=license.pk).exists()
    response = c.post(url, {"confirmed": "1"})
    assert (response.status_code, response["Location"]) == (
        302,
        "/p/acme/console/customers/globex/",
    )
    assert not License.objects.filter(pk=license.pk).exists()
    (event,) = AuditEvent.objects.filter(action="license.deleted")
    assert (event.actor, event.details["grants"]) == (f"user:{acme_admin.pk}", ["acme/app glob:*"])


def test_the_question_is_still_a_checked_post(acme, acme_admin, customer):
    """Asking changes nothing, and confirming needs the CSRF token like any POST."""
    from django.test import Client

    c = sign_in(acme_admin, acme, Client(enforce_csrf_checks=True))
    response = c.post(
        "/p/acme/console/customers/globex/suspend", {"suspend": "1", "confirmed": "1"}
    )
    assert response.status_code == 403
    assert Customer.objects.get(pk=customer.pk).suspended_at is None
