"""Vendor control gaps (issue 12, item 11): staff revoke a customer's pull token, an
invitation without mail hands over its link, and a logo or favicon can be removed."""

import re

import pytest
from django.core import mail
from django.test import Client, override_settings

from customers.models import AccessToken, AuditEvent
from customers.services import token_mint
from portal.models import Branding, Invitation
from tests.conftest import basic, license_grant
from tests.portal.conftest import customer_user, sign_in

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40
NO_MAIL = override_settings(EMAIL_BACKEND="django.core.mail.backends.console.EmailBackend")


# --- staff revoke a customer's pull token ------------------------------------------------


def test_staff_revoke_a_customer_token_after_confirming_and_it_stops_pulling(
    acme, acme_maintainer, customer, pushed
):
    license_grant(customer, "acme/app", "glob:1.*")
    minted = token_mint(vendor=acme, customer=customer, kind="pull", name="leaked")
    puller = Client(HTTP_AUTHORIZATION=basic(minted.secret, user="globex"))
    assert puller.get("/v2/acme/app/manifests/1.1").status_code == 200
    c = sign_in(acme_maintainer, acme)
    page = c.get("/p/acme/console/customers/globex/").content.decode()
    action = f"/p/acme/console/customers/globex/tokens/{minted.token.pk}/revoke"
    assert f'action="{action}"' in page and 'aria-label="Revoke leaked"' in page

    asking = c.post(action)
    assert asking.status_code == 200
    assert "<h1>Revoke token “leaked” of Globex?</h1>" in asking.content.decode()
    assert AccessToken.objects.get(pk=minted.token.pk).revoked_at is None

    done = c.post(action, {"confirmed": "1"})
    assert done.status_code == 302
    assert done["Location"] == "/p/acme/console/customers/globex/#pull-tokens"
    assert AccessToken.objects.get(pk=minted.token.pk).revoked_at is not None
    event = AuditEvent.objects.get(action="token.revoked", target=f"token:{minted.token.prefix}")
    assert event.actor == f"user:{acme_maintainer.pk}" and event.vendor_id == acme.pk

    # The registry refuses the token from the next request on.
    assert puller.get("/v2/acme/app/manifests/1.1").status_code == 401


def test_viewer_cannot_revoke_and_sees_no_revoke_button(acme, acme_viewer, customer):
    token = token_mint(vendor=acme, customer=customer, kind="pull", name="prod").token
    c = sign_in(acme_viewer, acme)
    assert "Revoke prod" not in c.get("/p/acme/console/customers/globex/").content.decode()
    url = f"/p/acme/console/customers/globex/tokens/{token.pk}/revoke"
    assert c.post(url, {"confirmed": "1"}).status_code == 403
    assert AccessToken.objects.get(pk=token.pk).revoked_at is None


def test_staff_cannot_revoke_another_customers_or_a_ci_token(acme, acme_admin, customer, umbrella):
    from customers.services import customer_create

    other = customer_create(vendor=acme, slug="hooli", name="Hooli")[0]
    theirs = token_mint(vendor=acme, customer=other, kind="pull", name="x").token
    ci = token_mint(vendor=acme, kind="push", name="ci").token
    c = sign_in(acme_admin, acme)
    for token in (theirs, ci):
        url = f"/p/acme/console/customers/globex/tokens/{token.pk}/revoke"
        assert c.post(url, {"confirmed": "1"}).status_code == 404
        assert AccessToken.objects.get(pk=token.pk).revoked_at is None


# --- an invitation without mail ----------------------------------------------------------


@NO_MAIL
def test_invitation_without_mail_shows_its_link_once(acme, acme_admin, customer):
    c = sign_in(acme_admin, acme)
    response = c.post(
        "/p/acme/console/customers/globex/invite", {"email": "new@globex.test", "role": "member"}
    )
    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    page = response.content.decode()
    assert "<h1>Invitation created</h1>" in page
    assert "Mail is not configured: copy this link" in page
    assert "Invitation sent" not in page
    link = re.search(r"http://127\.0\.0\.1:8000(/p/acme/invite/[\w-]+/)", page).group(1)
    assert mail.outbox == []
    invitation = Invitation.objects.get(email="new@globex.test")
    assert invitation.customer == customer
    assert AuditEvent.objects.filter(action="invitation.sent").count() == 1
    # The link works (opens sign-up for this address) and was shown only in that answer.
    opened = Client().get(link)
    assert opened.status_code == 302 and "signup" in opened["Location"]
    assert link not in c.get("/p/acme/console/customers/globex/").content.decode()


@NO_MAIL
def test_staff_and_team_invitations_without_mail_show_the_link_too(acme, acme_admin, customer):
    staff = sign_in(acme_admin, acme).post(
        "/p/acme/console/staff/", {"email": "ops@acme.test", "role": "viewer"}
    )
    assert staff.status_code == 201 and "/p/acme/invite/" in staff.content.decode()
    boss = customer_user(customer, "boss@globex.test", "admin")
    team = sign_in(boss, acme).post("/p/acme/team/", {"email": "dev@globex.test", "role": "member"})
    assert team.status_code == 201 and "/p/acme/invite/" in team.content.decode()
    assert team["Cache-Control"] == "no-store"
    assert mail.outbox == []


def test_invitation_with_mail_is_sent_as_before(acme, acme_admin, customer):
    c = sign_in(acme_admin, acme)
    response = c.post(
        "/p/acme/console/customers/globex/invite",
        {"email": "new@globex.test", "role": "member"},
        follow=True,
    )
    assert "Invitation sent to new@globex.test." in response.content.decode()
    assert len(mail.outbox) == 1


# --- logo and favicon: see them, remove them ---------------------------------------------


def test_branding_page_previews_and_removes_logo_and_favicon(acme, acme_admin):
    Branding.objects.filter(vendor=acme).update(
        logo=PNG, logo_type="image/png", favicon=PNG, favicon_type="image/png"
    )
    c = sign_in(acme_admin, acme)
    page = c.get("/p/acme/console/branding/").content.decode()
    assert 'alt="Current logo"' in page and 'alt="Current favicon"' in page
    assert 'action="/p/acme/console/branding/logo/remove"' in page
    assert 'action="/p/acme/console/branding/favicon/remove"' in page

    response = c.post("/p/acme/console/branding/logo/remove")
    assert response.status_code == 302 and response["Location"] == "/p/acme/console/branding/"
    branding = Branding.objects.get(vendor=acme)
    assert branding.logo_type == "" and bytes(branding.logo) == b""
    assert branding.favicon_type == "image/png"  # the other one stays
    assert Client().get("/p/acme/brand/logo").status_code == 404
    event = AuditEvent.objects.get(action="branding.updated")
    assert event.details == {"removed": "logo"} and event.actor == f"user:{acme_admin.pk}"

    c.post("/p/acme/console/branding/favicon/remove")
    page = c.get("/p/acme/console/branding/").content.decode()
    assert "No logo: the portal shows “Acme Software”." in page
    assert "No favicon: browsers show the default distr icon." in page
    # Removing again changes nothing and records nothing.
    c.post("/p/acme/console/branding/favicon/remove")
    assert AuditEvent.objects.filter(action="branding.updated").count() == 2


def test_only_branding_managers_remove_images(acme, acme_maintainer):
    Branding.objects.filter(vendor=acme).update(logo=PNG, logo_type="image/png")
    c = sign_in(acme_maintainer, acme)
    assert c.post("/p/acme/console/branding/logo/remove").status_code == 403
    assert c.post("/p/acme/console/branding/banner/remove").status_code == 403
    assert Branding.objects.get(vendor=acme).logo_type == "image/png"
