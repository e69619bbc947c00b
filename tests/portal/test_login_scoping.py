"""Logins and sessions are scoped to one vendor's portal; a vendor's staff never reach
another vendor's rows, even by guessing ids and slugs."""

import pytest
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.test import Client

from customers.models import AccessToken, Customer, CustomerMember, VendorMember
from customers.services import token_mint
from licensing.models import License, LicenseGrant
from portal.invitations import invitation_create
from portal.models import Invitation
from tests.conftest import license_grant
from tests.portal.conftest import (
    ACME_HOST,
    PASSWORD,
    UMBRELLA_HOST,
    login,
    make_user,
    sign_in,
)

pytestmark = pytest.mark.django_db


def _login_error(response) -> str:
    assert response.status_code == 200, response.status_code
    errors = response.context["form"].non_field_errors()
    assert errors, response.content
    return " ".join(errors)


def test_customer_user_logs_in_on_own_portal(globex_admin, umbrella):
    c = Client()
    response = login(c, "acme", "boss@globex.test")
    assert response.status_code == 302
    assert int(c.session[SESSION_KEY]) == globex_admin.pk
    overview = c.get("/p/acme/overview/")
    assert overview.status_code == 200
    assert b"Globex" in overview.content


def test_other_vendors_user_is_refused_like_a_wrong_password(globex_admin, umbrella):
    foreign = Client()
    refused = login(foreign, "umbrella", "boss@globex.test")
    wrong = login(Client(), "acme", "boss@globex.test", password="not the password")
    assert _login_error(refused) == _login_error(wrong)
    assert SESSION_KEY not in foreign.session
    # Same on umbrella's own host.
    on_host = Client(HTTP_HOST=UMBRELLA_HOST)
    response = on_host.post("/accounts/login/", {"login": "boss@globex.test", "password": PASSWORD})
    assert _login_error(response) == _login_error(wrong)
    assert SESSION_KEY not in on_host.session


def test_staff_of_one_vendor_cannot_log_in_on_another(acme_admin, umbrella):
    c = Client()
    response = login(c, "umbrella", "admin@acme.test")
    assert response.status_code == 200
    assert SESSION_KEY not in c.session


def test_session_from_one_portal_is_anonymous_on_another(globex_admin, umbrella):
    c = Client()
    assert login(c, "acme", "boss@globex.test").status_code == 302
    assert c.get("/p/acme/overview/").status_code == 200
    # Same session cookie on umbrella's portal: not signed in there.
    response = c.get("/p/umbrella/overview/")
    assert response.status_code == 302
    assert response["Location"].startswith("/p/umbrella/accounts/login/")
    login_page = c.get("/p/umbrella/accounts/login/")
    assert login_page.status_code == 200
    assert b"boss@globex.test" not in login_page.content
    assert b"Umbrella Cloud" in login_page.content
    # The session itself is kept for acme.
    assert c.get("/p/acme/overview/").status_code == 200


def test_session_from_prefix_route_is_anonymous_on_other_vendor_host(globex_admin, umbrella):
    c = Client()
    assert login(c, "acme", "boss@globex.test").status_code == 302
    cookie = c.cookies["sessionid"].value
    other = Client(HTTP_HOST=UMBRELLA_HOST)
    other.cookies["sessionid"] = cookie
    response = other.get("/overview/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    # While the vendor's own host accepts it.
    own = Client(HTTP_HOST=ACME_HOST)
    own.cookies["sessionid"] = cookie
    assert own.get("/overview/").status_code == 200


def test_session_from_admin_login_is_not_a_portal_session(acme, globex_admin):
    c = Client()
    c.force_login(globex_admin, backend="django.contrib.auth.backends.ModelBackend")
    response = c.get("/p/acme/overview/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_suspended_customers_user_cannot_log_in(globex_admin, customer):
    from customers.services import customer_set_suspended

    customer_set_suspended(customer=customer, suspended=True)
    c = Client()
    response = login(c, "acme", "boss@globex.test")
    assert response.status_code == 200
    assert SESSION_KEY not in c.session


def test_password_reset_on_other_vendor_portal_sends_no_link(globex_admin, umbrella):
    mail.outbox.clear()
    response = Client().post("/p/umbrella/accounts/password/reset/", {"email": "boss@globex.test"})
    assert response.status_code == 302
    # allauth may tell the address that umbrella knows no such account, but never sends
    # a reset key, and nothing of acme shows.
    assert mail.outbox == [] or all(
        "/password/reset/key/" not in m.body and "Acme" not in m.body for m in mail.outbox
    )
    assert all("Unknown Account" in m.subject for m in mail.outbox)


def test_password_reset_on_own_portal_sends_a_branded_link(globex_admin, umbrella):
    mail.outbox.clear()
    response = Client().post("/p/acme/accounts/password/reset/", {"email": "boss@globex.test"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["boss@globex.test"]
    assert "/p/acme/accounts/password/reset/key/" in message.body
    assert message.subject.startswith("[Acme Software]")
    assert "Acme Software" in message.from_email


# --- staff of acme reach nothing of umbrella ------------------------------------------


@pytest.fixture
def umbrella_world(umbrella, initech, initech_user, umbrella_admin, umbrella_pushed):
    """Everything umbrella owns that has an id in a console URL."""
    license = license_grant(initech, "umbrella/secret", "glob:*", name="Umbrella secret license")
    invitation, _ = invitation_create(
        vendor=umbrella, customer=initech, email="new@initech.test", role="member"
    )
    staff_invitation, _ = invitation_create(
        vendor=umbrella, email="new@umbrella.test", role="viewer"
    )
    pull = token_mint(vendor=umbrella, customer=initech, kind="pull", name="initech pull")
    push = AccessToken.objects.get(vendor=umbrella, kind="push")
    return {
        "license": license,
        "grant": LicenseGrant.objects.get(license=license),
        "invitation": invitation,
        "staff_invitation": staff_invitation,
        "member": CustomerMember.objects.get(customer=initech),
        "staff_member": VendorMember.objects.get(vendor=umbrella),
        "pull": pull.token,
        "push": push,
        "digest": umbrella_pushed["1.0"],
    }


def test_acme_console_lists_none_of_umbrellas_customers(acme_admin, customer, umbrella_world):
    c = sign_in(acme_admin, customer.vendor)
    body = c.get("/p/acme/console/customers/").content.decode()
    assert "Globex" in body
    assert "Initech" not in body
    assert "initech" not in c.get("/p/acme/console/customers/?q=init").content.decode().lower()
    repos = c.get("/p/acme/console/repositories/").content.decode()
    assert "umbrella/secret" not in repos
    tokens = c.get("/p/acme/console/tokens/").content.decode()
    assert umbrella_world["push"].prefix not in tokens


def test_acme_console_gets_404_for_umbrella_objects(acme_admin, customer, umbrella_world):
    w = umbrella_world
    c = sign_in(acme_admin, customer.vendor)
    gets = [
        "/p/acme/console/customers/initech/",
        f"/p/acme/console/licenses/{w['license'].pk}/",
        "/p/acme/console/repositories/umbrella/secret/",
        f"/p/acme/console/repositories/umbrella/secret/manifests/{w['digest']}",
    ]
    for path in gets:
        response = c.get(path)
        assert response.status_code == 404, path
        assert b"Initech" not in response.content and b"umbrella/secret" not in response.content
    preview = c.get(
        "/p/acme/console/grant-preview", {"repository": "umbrella/secret", "pattern": "*"}
    )
    assert b"1.0" not in preview.content

    posts = {
        "/p/acme/console/customers/initech/": {"name": "Hacked"},
        "/p/acme/console/customers/initech/suspend": {"suspend": "1", "confirmed": "1"},
        "/p/acme/console/customers/initech/invite": {"email": "x@x.test", "role": "admin"},
        f"/p/acme/console/customers/initech/invitations/{w['invitation'].pk}/revoke": {
            "confirmed": "1"
        },
        f"/p/acme/console/customers/initech/members/{w['member'].pk}/remove": {},
        "/p/acme/console/customers/initech/licenses/new": {
            "name": "x",
            "valid_from": "2024-01-01",
        },
        f"/p/acme/console/licenses/{w['license'].pk}/": {
            "name": "Hacked",
            "valid_from": "2024-01-01",
        },
        f"/p/acme/console/licenses/{w['license'].pk}/status": {
            "status": "suspended",
            "confirmed": "1",
        },
        f"/p/acme/console/licenses/{w['license'].pk}/grants/add": {
            "repository": "umbrella/secret",
            "rule": "glob",
            "pattern": "*",
        },
        f"/p/acme/console/grants/{w['grant'].pk}/remove": {},
        f"/p/acme/console/tokens/{w['push'].pk}/revoke": {"confirmed": "1"},
        f"/p/acme/console/tokens/{w['pull'].pk}/revoke": {"confirmed": "1"},
        "/p/acme/console/repositories/umbrella/secret/delete": {
            "reference": "1.0",
            "confirmed": "1",
        },
        f"/p/acme/console/staff/{w['staff_member'].pk}/role": {"role": "viewer"},
        f"/p/acme/console/staff/{w['staff_member'].pk}/remove": {},
        f"/p/acme/console/staff/invitations/{w['staff_invitation'].pk}/revoke": {"confirmed": "1"},
    }
    for path, data in posts.items():
        assert c.post(path, data).status_code == 404, path

    initech = Customer.objects.get(slug="initech")
    assert initech.name == "Initech" and initech.suspended_at is None
    assert License.objects.get(pk=w["license"].pk).name == "Umbrella secret license"
    assert License.objects.get(pk=w["license"].pk).status == "active"
    assert LicenseGrant.objects.filter(pk=w["grant"].pk).exists()
    assert (
        AccessToken.objects.filter(vendor__slug="umbrella", revoked_at__isnull=False).count() == 0
    )
    assert CustomerMember.objects.filter(pk=w["member"].pk).exists()
    assert VendorMember.objects.get(pk=w["staff_member"].pk).role == "admin"
    assert Invitation.objects.filter(vendor__slug="umbrella", revoked_at__isnull=False).count() == 0
    assert not Invitation.objects.filter(email="x@x.test").exists()
    assert License.objects.filter(customer=initech).count() == 1
    from registry.models import Tag

    assert Tag.objects.filter(repository__name="umbrella/secret", name="1.0").exists()


def test_acme_customer_user_sees_only_acme_customers_data(
    globex_admin, customer, pushed, umbrella_world
):
    license_grant(customer, "acme/app", "glob:*")
    c = sign_in(globex_admin, customer.vendor)
    artifacts = c.get("/p/acme/artifacts/").content.decode()
    assert "acme/app" in artifacts
    assert "umbrella/secret" not in artifacts
    # Revoking another vendor's customer's token by id: 404 and still live.
    response = c.post(f"/p/acme/tokens/{umbrella_world['pull'].pk}/revoke", {"confirmed": "1"})
    assert response.status_code == 404
    assert AccessToken.objects.get(pk=umbrella_world["pull"].pk).revoked_at is None


def test_user_of_two_vendors_is_scoped_per_portal(acme, customer, initech):
    """One person, a user of globex (acme) and of initech (umbrella): each portal shows
    only that vendor's customer."""
    user = make_user("both@example.test")
    CustomerMember.objects.create(customer=customer, user=user, role="member")
    CustomerMember.objects.create(customer=initech, user=user, role="member")
    c = Client()
    assert login(c, "acme", "both@example.test").status_code == 302
    acme_overview = c.get("/p/acme/overview/").content.decode()
    assert "Globex" in acme_overview and "Initech" not in acme_overview
    assert c.get("/p/umbrella/overview/").status_code == 302  # not signed in there
    assert login(c, "umbrella", "both@example.test").status_code == 302
    umbrella_overview = c.get("/p/umbrella/overview/").content.decode()
    assert "Initech" in umbrella_overview and "Globex" not in umbrella_overview
