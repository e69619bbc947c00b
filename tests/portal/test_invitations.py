"""Invitations: the only way to get a portal account. Branded email, a link that works
once, on its own vendor's portal, until it expires or is withdrawn."""

import datetime
import re

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import SESSION_KEY, get_user_model
from django.core import mail
from django.test import Client
from django.utils import timezone

from customers.models import AuditEvent, CustomerMember, VendorMember
from portal.models import Invitation
from tests.portal.conftest import ACME_HOST, PASSWORD, login, sign_in

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "a brand new passphrase 42"


def invite(staff_client, email="new@globex.test", role="member", prefix="/p/acme"):
    mail.outbox.clear()
    response = staff_client.post(
        f"{prefix}/console/customers/globex/invite", {"email": email, "role": role}
    )
    assert response.status_code == 302, response.content
    assert len(mail.outbox) == 1, [m.subject for m in mail.outbox]
    return mail.outbox[0]


def test_an_admin_invitation_reads_as_an_admin(admin_client):
    message = invite(admin_client, email="boss@globex.test", role="admin")
    assert "as an admin of Globex" in message.body


def link_path(message) -> str:
    # Links come from the public URL (configuration), not the request's Host (testserver).
    match = re.search(r"http://127\.0\.0\.1:8000(/\S*/invite/[\w-]+/)", message.body)
    assert match, message.body
    return match.group(1)


def signup(client, email="new@globex.test", prefix="/p/acme"):
    return client.post(
        f"{prefix}/accounts/signup/",
        {"email": email, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )


@pytest.fixture
def admin_client(acme, acme_admin, customer):
    return sign_in(acme_admin, acme)


def test_invitation_email_is_branded_and_carries_a_link(admin_client, acme_admin):
    message = invite(admin_client)
    assert message.to == ["new@globex.test"]
    assert message.subject.startswith("[Acme Software]")
    assert "Acme Software" in message.subject
    assert message.from_email.startswith("Acme Software <")
    assert "admin@acme.test invited you to the Acme Software portal" in message.body
    assert "as a member of Globex" in message.body
    assert "distr" not in message.subject.lower()
    path = link_path(message)
    assert path.startswith("/p/acme/invite/")
    # Only the key's hash is stored.
    key = path.rstrip("/").rsplit("/", 1)[1]
    invitation = Invitation.objects.get(email="new@globex.test")
    assert key not in invitation.key_hash
    assert invitation.role == "member" and invitation.customer.slug == "globex"
    assert AuditEvent.objects.filter(
        action="invitation.sent", actor=f"user:{acme_admin.pk}", target="invitation:new@globex.test"
    ).exists()


def test_invitation_link_on_vendor_host_has_no_prefix(acme, acme_admin, customer):
    c = sign_in(acme_admin, acme, HTTP_HOST=ACME_HOST)
    mail.outbox.clear()
    response = c.post(
        "/console/customers/globex/invite", {"email": "h@globex.test", "role": "admin"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/console/customers/globex/"
    assert re.search(rf"http://{ACME_HOST}:8000/invite/[\w-]+/", mail.outbox[0].body)


def test_following_the_link_signs_up_and_logs_in(admin_client):
    path = link_path(invite(admin_client, role="member"))
    c = Client()
    response = c.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/p/acme/accounts/signup/")
    form = c.get(response["Location"])
    assert form.status_code == 200
    assert b"new@globex.test" in form.content

    response = signup(c)
    assert response.status_code == 302, response.content
    user = get_user_model().objects.get(email="new@globex.test")
    member = CustomerMember.objects.get(user=user)
    assert member.customer.slug == "globex" and member.role == "member"
    assert EmailAddress.objects.get(user=user, email="new@globex.test").verified
    assert int(c.session[SESSION_KEY]) == user.pk
    assert Invitation.objects.get(email="new@globex.test").accepted_at is not None
    overview = c.get("/p/acme/overview/")
    assert overview.status_code == 200
    assert b"Globex" in overview.content
    # And the password works for a later login.
    assert login(Client(), "acme", "new@globex.test", NEW_PASSWORD).status_code == 302
    assert AuditEvent.objects.filter(action="invitation.accepted", actor=f"user:{user.pk}").exists()


def test_invited_role_admin_is_kept(admin_client):
    path = link_path(invite(admin_client, email="lead@globex.test", role="admin"))
    c = Client()
    c.get(path)
    assert signup(c, email="lead@globex.test").status_code == 302
    assert CustomerMember.objects.get(user__email="lead@globex.test").role == "admin"


def test_link_works_once(admin_client):
    path = link_path(invite(admin_client))
    c = Client()
    c.get(path)
    assert signup(c).status_code == 302
    again = Client().get(path)
    assert again.status_code == 404
    assert b"no longer works" in again.content
    # A second browser that opened the link before it was used cannot sign up either.
    assert get_user_model().objects.filter(email="new@globex.test").count() == 1


def test_two_browsers_race_only_one_account(admin_client):
    path = link_path(invite(admin_client))
    first, second = Client(), Client()
    first.get(path)
    second.get(path)
    assert signup(first).status_code == 302
    signup(second)
    assert get_user_model().objects.filter(email__iexact="new@globex.test").count() == 1
    assert CustomerMember.objects.filter(user__email="new@globex.test").count() == 1


def test_signup_without_invitation_is_closed(acme):
    c = Client()
    page = c.get("/p/acme/accounts/signup/")
    assert b'name="password1"' not in page.content
    assert b"closed" in page.content.lower()
    response = c.post(
        "/p/acme/accounts/signup/",
        {"email": "walkin@example.test", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 200  # the closed page again, nobody signed up
    assert b"closed" in response.content.lower()
    assert not get_user_model().objects.filter(email="walkin@example.test").exists()


def test_signup_with_another_email_is_refused(admin_client):
    path = link_path(invite(admin_client))
    c = Client()
    c.get(path)
    response = signup(c, email="someone.else@globex.test")
    assert response.status_code == 200
    assert "This invitation is for new@globex.test." in response.context["form"].errors["email"]
    assert not get_user_model().objects.filter(email="someone.else@globex.test").exists()
    assert Invitation.objects.get(email="new@globex.test").accepted_at is None


def test_expired_link_is_refused(admin_client):
    path = link_path(invite(admin_client))
    Invitation.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    c = Client()
    response = c.get(path)
    assert response.status_code == 404
    assert b"no longer works" in response.content
    assert b"Acme Software" in response.content
    signup(c)
    assert not get_user_model().objects.filter(email="new@globex.test").exists()


def test_link_expiring_between_opening_and_signing_up_is_refused(admin_client):
    path = link_path(invite(admin_client))
    c = Client()
    c.get(path)
    Invitation.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    signup(c)
    assert not get_user_model().objects.filter(email="new@globex.test").exists()


def test_revoked_link_is_refused(admin_client):
    path = link_path(invite(admin_client))
    invitation = Invitation.objects.get(email="new@globex.test")
    response = admin_client.post(
        f"/p/acme/console/customers/globex/invitations/{invitation.pk}/revoke"
    )
    assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    c = Client()
    assert c.get(path).status_code == 404
    signup(c)
    assert not get_user_model().objects.filter(email="new@globex.test").exists()


def test_link_of_one_vendor_is_invalid_on_another(admin_client, umbrella):
    path = link_path(invite(admin_client))
    foreign = path.replace("/p/acme/", "/p/umbrella/")
    c = Client()
    response = c.get(foreign)
    assert response.status_code == 404
    assert b"no longer works" in response.content
    assert b"Umbrella Cloud" in response.content and b"Acme" not in response.content
    # Nor does it open sign-up on umbrella.
    signup(c, prefix="/p/umbrella")
    assert not get_user_model().objects.filter(email="new@globex.test").exists()
    # On acme's host it still works.
    assert Client(HTTP_HOST=ACME_HOST).get(path.replace("/p/acme", "")).status_code == 302


def test_existing_user_of_another_vendor_signs_in_and_accepts(admin_client, initech_user):
    path = link_path(invite(admin_client, email="ops@initech.test", role="admin"))
    c = Client()
    page = c.get(path)
    assert page.status_code == 200
    assert b"Sign in to accept" in page.content
    login_link = re.search(rb'href="([^"]*accounts/login/\?next=[^"]*)"', page.content)
    assert login_link and login_link.group(1).startswith(b"/p/acme/accounts/login/")
    # Signing in on acme is allowed while accepting this invitation.
    response = c.post(
        "/p/acme/accounts/login/", {"login": "ops@initech.test", "password": PASSWORD, "next": path}
    )
    assert response.status_code == 302, response.content
    assert response["Location"] == path
    page = c.get(path)
    assert b"Accept invitation" in page.content
    response = c.post(path)
    assert response.status_code == 302
    member = CustomerMember.objects.get(user=initech_user, customer__vendor__slug="acme")
    assert member.customer.slug == "globex" and member.role == "admin"
    # Still a user of initech too, and now on acme's portal.
    assert CustomerMember.objects.filter(user=initech_user, customer__slug="initech").exists()
    assert b"Globex" in c.get("/p/acme/overview/").content
    assert Client().get(path).status_code == 404


def test_existing_user_without_invitation_still_cannot_sign_in_elsewhere(
    admin_client, initech_user
):
    # No link opened in this browser: acme's login refuses umbrella's user.
    c = Client()
    login(c, "acme", "ops@initech.test")
    assert SESSION_KEY not in c.session


def test_signed_in_as_someone_else_is_logged_out_by_the_link(admin_client, globex_admin):
    path = link_path(invite(admin_client))
    c = sign_in(globex_admin, globex_admin.customer_memberships.first().customer.vendor)
    response = c.get(path)
    assert response.status_code == 302
    assert "signup" in response["Location"]
    assert SESSION_KEY not in c.session


def test_already_member_cannot_be_invited_again(admin_client, globex_member):
    mail.outbox.clear()
    admin_client.post(
        "/p/acme/console/customers/globex/invite", {"email": "DEV@globex.test", "role": "admin"}
    )
    assert mail.outbox == []
    assert not Invitation.objects.exists()


def test_staff_invitation_makes_staff(admin_client, acme):
    mail.outbox.clear()
    response = admin_client.post(
        "/p/acme/console/staff/", {"email": "ops@acme.test", "role": "maintainer"}
    )
    assert response.status_code == 302
    path = link_path(mail.outbox[0])
    assert "as maintainer staff" in mail.outbox[0].body
    c = Client()
    c.get(path)
    assert signup(c, email="ops@acme.test").status_code == 302
    member = VendorMember.objects.get(user__email="ops@acme.test")
    assert member.vendor == acme and member.role == "maintainer"
    assert c.get("/p/acme/console/").status_code == 200


def test_customer_admin_invites_a_colleague(acme, globex_admin):
    c = sign_in(globex_admin, acme)
    mail.outbox.clear()
    response = c.post("/p/acme/team/", {"email": "mate@globex.test", "role": "member"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject.startswith("[Acme Software]")
    assert "boss@globex.test invited you" in mail.outbox[0].body
    invitation = Invitation.objects.get(email="mate@globex.test")
    assert invitation.customer.slug == "globex" and invitation.invited_by == globex_admin
