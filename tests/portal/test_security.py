"""CSRF on every form, login lock-out, friendly branded error pages, and the audit log
(filters, and console actions showing up in it)."""

import re

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client

from customers.models import AccessToken, AuditEvent, Customer
from customers.services import audit_record
from tests.portal.conftest import PASSWORD, login, post_mint, sign_in, with_theme

pytestmark = pytest.mark.django_db


# --- CSRF -----------------------------------------------------------------------------


def test_post_without_csrf_token_is_refused(acme, acme_admin):
    c = sign_in(acme_admin, acme, enforce_csrf_checks=True)
    response = c.post("/p/acme/console/customers/", {"name": "Hooli", "slug": "hooli"})
    assert response.status_code == 403
    assert not Customer.objects.filter(slug="hooli").exists()


def test_post_with_csrf_token_is_accepted(acme, acme_admin):
    c = sign_in(acme_admin, acme, enforce_csrf_checks=True)
    page = c.get("/p/acme/console/customers/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = c.post(
        "/p/acme/console/customers/",
        {"name": "Hooli", "slug": "hooli", "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302
    assert Customer.objects.filter(slug="hooli").exists()


def test_token_mint_without_csrf_is_refused(acme, globex_admin):
    c = sign_in(globex_admin, acme, enforce_csrf_checks=True)
    response = c.post("/p/acme/tokens/", {"name": "x", "expires_in_days": "30"})
    assert response.status_code == 403
    assert not AccessToken.objects.exists()


def test_login_without_csrf_is_refused(globex_admin):
    c = Client(enforce_csrf_checks=True)
    response = login(c, "acme", "boss@globex.test")
    assert response.status_code == 403
    assert SESSION_KEY not in c.session


def test_registry_needs_no_csrf(client):
    csrf_client = Client(
        enforce_csrf_checks=True, HTTP_AUTHORIZATION=client.defaults["HTTP_AUTHORIZATION"]
    )
    assert csrf_client.post("/v2/acme/app/blobs/uploads/").status_code == 202


# --- lock-out -------------------------------------------------------------------------


def test_five_failed_logins_lock_the_account(globex_admin):
    for _ in range(5):
        response = login(Client(), "acme", "boss@globex.test", password="wrong")
        assert response.status_code == 200
    c = Client()
    response = login(c, "acme", "boss@globex.test")
    assert response.status_code == 200
    assert SESSION_KEY not in c.session
    # Another account is not locked.
    from tests.portal.conftest import customer_user

    customer_user(globex_admin.customer_memberships.get().customer, "other@globex.test")
    assert login(Client(), "acme", "other@globex.test").status_code == 302


def test_four_failed_logins_do_not_lock(globex_admin):
    for _ in range(4):
        login(Client(), "acme", "boss@globex.test", password="wrong")
    c = Client()
    assert login(c, "acme", "boss@globex.test", password=PASSWORD).status_code == 302
    assert int(c.session[SESSION_KEY]) == globex_admin.pk


# --- friendly errors ------------------------------------------------------------------


def test_404_under_a_portal_is_branded(acme):
    response = Client().get("/p/acme/no/such/page/")
    assert response.status_code == 404
    body = response.content.decode()
    assert "Page not found" in body
    assert "Acme Software" in body
    assert "--brand-primary:#aa1111" in with_theme(body)
    assert 'href="/p/acme/"' in body


def test_404_on_a_vendor_host_is_branded(acme):
    from tests.portal.conftest import ACME_HOST

    response = Client(HTTP_HOST=ACME_HOST).get("/nope/")
    assert response.status_code == 404
    assert b"Acme Software" in response.content


def test_404_for_a_missing_object_is_branded(acme, acme_admin):
    response = sign_in(acme_admin, acme).get("/p/acme/console/customers/nobody/")
    assert response.status_code == 404
    assert b"Page not found" in response.content and b"Acme Software" in response.content


def test_403_is_branded(acme, acme_viewer):
    response = sign_in(acme_viewer, acme).get("/p/acme/console/branding/")
    assert response.status_code == 403
    body = response.content.decode()
    assert "Not allowed" in body and "Acme Software" in body
    assert "Your role does not allow this." in body


def test_registry_unknown_route_keeps_the_oci_envelope(client, acme):
    for c in (client, Client()):
        response = c.get("/v2/acme/app/not-a-route")
        assert response.status_code == 404
        assert response["Content-Type"].startswith("application/json")
        errors = response.json()["errors"]
        assert errors and {"code", "message"} <= set(errors[0])
        assert b"<html" not in response.content


# --- audit log ------------------------------------------------------------------------


def test_console_actions_appear_in_the_audit_log(acme, acme_admin, customer):
    c = sign_in(acme_admin, acme)
    c.post("/p/acme/console/customers/", {"name": "Hooli", "slug": "hooli"})
    c.post("/p/acme/console/customers/hooli/suspend", {"suspend": "1", "confirmed": "1"})
    post_mint(c, "/p/acme/console/tokens/", {"name": "ci", "expires_in_days": "30"})
    actions = list(AuditEvent.objects.filter(vendor=acme).values_list("action", "actor", "target"))
    actor = f"user:{acme_admin.pk}"
    assert ("customer.created", actor, "customer:hooli") in actions
    assert ("customer.suspended", actor, "customer:hooli") in actions
    assert any(a == "token.created" and who == actor for a, who, _ in actions)
    page = c.get("/p/acme/console/audit/").content.decode()
    assert "customer.created" in page and "customer:hooli" in page
    assert "customer.suspended" in page


def test_audit_filters_by_action_and_actor(acme, acme_admin, umbrella):
    audit_record(vendor=acme, action="customer.created", actor="user:111", target="customer:aaa")
    audit_record(vendor=acme, action="token.revoked", actor="user:222", target="token:bbb")
    audit_record(vendor=acme, action="customer.created", actor="user:222", target="customer:ccc")
    audit_record(
        vendor=umbrella, action="customer.created", actor="user:111", target="customer:zzz"
    )
    c = sign_in(acme_admin, acme)

    def targets(**params):
        response = c.get("/p/acme/console/audit/", params)
        assert response.status_code == 200
        return sorted(e.target for e in response.context["events"])

    everything = ["customer:aaa", "customer:ccc", "token:bbb", "vendor:acme"]  # + its creation
    assert targets() == everything
    assert targets(action="customer.created") == ["customer:aaa", "customer:ccc"]
    assert targets(actor="user:222") == ["customer:ccc", "token:bbb"]
    assert targets(action="customer.created", actor="user:222") == ["customer:ccc"]
    # An unknown action filter is ignored, not an error.
    assert targets(action="drop table") == everything
    page = c.get("/p/acme/console/audit/", {"action": "token.revoked"}).content.decode()
    assert "token:bbb" in page and "customer:aaa" not in page
    assert "customer:zzz" not in c.get("/p/acme/console/audit/").content.decode()


def test_audit_log_pages(acme, acme_viewer):
    for i in range(55):
        audit_record(vendor=acme, action="customer.updated", target=f"customer:c{i:02}")
    c = sign_in(acme_viewer, acme)
    first = c.get("/p/acme/console/audit/", {"action": "customer.updated"})
    assert len(first.context["events"]) == 50
    next_before = first.context["next_before"]
    assert next_before
    assert f"before={next_before}" in first.content.decode()
    second = c.get("/p/acme/console/audit/", {"action": "customer.updated", "before": next_before})
    targets = [e.target for e in second.context["events"]]
    assert len(targets) == 5 and second.context["next_before"] is None
    assert not set(targets) & {e.target for e in first.context["events"]}


def test_portal_pages_carry_a_strict_csp_and_the_registry_does_not(acme):
    page = Client().get("/p/acme/accounts/login/")
    policy = page["Content-Security-Policy"]
    for directive in ("script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"):
        assert directive in policy
    assert "unsafe-inline" not in policy and "<style" not in page.content.decode()
    assert "Content-Security-Policy" not in Client().get("/v2/")
