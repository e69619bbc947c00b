"""Staff roles (viewer < maintainer < admin) and customer roles (member < admin), enforced
on every action: hidden in the page and refused on POST with nothing changed."""

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile

from customers.models import AccessToken, Customer, CustomerMember, VendorMember
from customers.services import token_mint
from licensing.models import License, LicenseGrant
from portal.invitations import invitation_create
from portal.models import Branding, Invitation
from registry.models import Tag
from tests.conftest import license_grant
from tests.portal.conftest import customer_user, messages_text, post_mint, sign_in, staff_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(acme, customer, pushed, acme_admin):
    license = license_grant(customer, "acme/app", "glob:1.*", name="Globex license")
    return {"license": license, "admin_member": VendorMember.objects.get(user=acme_admin)}


def snapshot():
    return {
        "customers": sorted(Customer.objects.values_list("slug", "name", "suspended_at")),
        "licenses": sorted(License.objects.values_list("pk", "name", "status")),
        "grants": sorted(LicenseGrant.objects.values_list("pk", "pattern")),
        "tokens": sorted(AccessToken.objects.values_list("pk", "revoked_at")),
        "invitations": sorted(Invitation.objects.values_list("pk", "revoked_at")),
        "staff": sorted(VendorMember.objects.values_list("pk", "role")),
        "members": sorted(CustomerMember.objects.values_list("pk", "role")),
        "branding": list(Branding.objects.values_list("display_name", "primary_color")),
        "tags": sorted(Tag.objects.values_list("name", flat=True)),
    }


def write_posts(world) -> dict:
    license = world["license"]
    return {
        "customer create": (
            "/p/acme/console/customers/",
            {"name": "Hooli", "slug": "hooli"},
        ),
        "customer edit": ("/p/acme/console/customers/globex/", {"name": "Renamed"}),
        "customer suspend": (
            "/p/acme/console/customers/globex/suspend",
            {"suspend": "1", "confirmed": "1"},
        ),
        "license create": (
            "/p/acme/console/customers/globex/licenses/new",
            {"name": "Second", "valid_from": "2024-01-01"},
        ),
        "license edit": (
            f"/p/acme/console/licenses/{license.pk}/",
            {"name": "Renamed", "valid_from": "2024-01-01"},
        ),
        "license status": (
            f"/p/acme/console/licenses/{license.pk}/status",
            {"status": "suspended", "confirmed": "1"},
        ),
        "grant add": (
            f"/p/acme/console/licenses/{license.pk}/grants/add",
            {"repository": "acme/app", "rule": "glob", "pattern": "2.*"},
        ),
        "grant remove": (f"/p/acme/console/grants/{license.grants.get().pk}/remove", {}),
        "invite": (
            "/p/acme/console/customers/globex/invite",
            {"email": "x@globex.test", "role": "admin"},
        ),
        "push token mint": ("/p/acme/console/tokens/", {"name": "ci", "expires_in_days": "30"}),
        "push token revoke": (
            f"/p/acme/console/tokens/{AccessToken.objects.filter(kind='push').first().pk}/revoke",
            {"confirmed": "1"},
        ),
        "delete tag": (
            "/p/acme/console/repositories/acme/app/delete",
            {"reference": "1.1", "confirmed": "1"},
        ),
        "branding": (
            "/p/acme/console/branding/",
            {"display_name": "Pwned", "primary_color": "#000000", "accent_color": "#000000"},
        ),
        "domain add": ("/p/acme/console/branding/domains/add", {"host": "evil.example.com"}),
        "staff invite": ("/p/acme/console/staff/", {"email": "x@acme.test", "role": "admin"}),
        "staff role change": (
            f"/p/acme/console/staff/{world['admin_member'].pk}/role",
            {"role": "viewer"},
        ),
        "staff remove": (f"/p/acme/console/staff/{world['admin_member'].pk}/remove", {}),
    }


MAINTAINER_FORBIDDEN = {
    "branding",
    "domain add",
    "staff invite",
    "staff role change",
    "staff remove",
}


def test_viewer_reads_the_console(world, acme, acme_viewer):
    c = sign_in(acme_viewer, acme)
    for path in (
        "/p/acme/console/",
        "/p/acme/console/customers/",
        "/p/acme/console/customers/globex/",
        f"/p/acme/console/licenses/{world['license'].pk}/",
        "/p/acme/console/repositories/",
        "/p/acme/console/repositories/acme/app/",
        "/p/acme/console/tokens/",
        "/p/acme/console/staff/",
        "/p/acme/console/audit/",
    ):
        assert c.get(path).status_code == 200, path
    assert b"Globex license" in c.get("/p/acme/console/customers/globex/").content


def test_viewer_sees_no_write_forms(world, acme, acme_viewer):
    c = sign_in(acme_viewer, acme)
    customers = c.get("/p/acme/console/customers/").content.decode()
    assert 'name="slug"' not in customers
    customer = c.get("/p/acme/console/customers/globex/").content.decode()
    assert "/licenses/new" not in customer
    assert "/invite" not in customer
    assert "/suspend" not in customer
    license = c.get(f"/p/acme/console/licenses/{world['license'].pk}/").content.decode()
    assert "/grants/add" not in license
    assert "/remove" not in license
    assert "Save license" not in license
    tokens = c.get("/p/acme/console/tokens/").content.decode()
    assert 'name="repository_patterns"' not in tokens
    assert "/revoke" not in tokens
    staff = c.get("/p/acme/console/staff/").content.decode()
    assert "/role" not in staff and 'name="email"' not in staff
    repository = c.get("/p/acme/console/repositories/acme/app/").content.decode()
    assert "Delete tag" not in repository
    assert "/console/branding/" not in c.get("/p/acme/console/").content.decode()
    assert c.get("/p/acme/console/branding/").status_code == 403


def test_maintainer_and_admin_see_the_write_forms(world, acme, acme_maintainer, acme_admin):
    for user in (acme_maintainer, acme_admin):
        c = sign_in(user, acme)
        assert 'name="slug"' in c.get("/p/acme/console/customers/").content.decode()
        customer = c.get("/p/acme/console/customers/globex/").content.decode()
        assert "/licenses/new" in customer and "/invite" in customer
        license = c.get(f"/p/acme/console/licenses/{world['license'].pk}/").content.decode()
        assert "/grants/add" in license
        assert 'name="repository_patterns"' in c.get("/p/acme/console/tokens/").content.decode()
        assert "Delete tag" in c.get("/p/acme/console/repositories/acme/app/").content.decode()
    staff_page = sign_in(acme_maintainer, acme).get("/p/acme/console/staff/").content.decode()
    assert "/role" not in staff_page
    assert "/role" in sign_in(acme_admin, acme).get("/p/acme/console/staff/").content.decode()


def test_viewer_posts_are_refused_and_change_nothing(world, acme, acme_viewer):
    c = sign_in(acme_viewer, acme)
    before = snapshot()
    mail.outbox.clear()
    for label, (path, data) in write_posts(world).items():
        response = c.post(path, data)
        assert response.status_code == 403, label
        assert b"Not allowed" in response.content, label
    assert snapshot() == before
    assert mail.outbox == []


def test_maintainer_is_refused_branding_and_staff(world, acme, acme_maintainer):
    c = sign_in(acme_maintainer, acme)
    before = snapshot()
    for label, (path, data) in write_posts(world).items():
        if label in MAINTAINER_FORBIDDEN:
            assert c.post(path, data).status_code == 403, label
    assert snapshot() == before
    assert c.get("/p/acme/console/branding/").status_code == 403


def test_maintainer_manages_customers_licenses_and_tokens(world, acme, acme_maintainer):
    c = sign_in(acme_maintainer, acme)
    assert (
        c.post("/p/acme/console/customers/", {"name": "Hooli", "slug": "hooli"}).status_code == 302
    )
    assert Customer.objects.filter(vendor=acme, slug="hooli").exists()
    response = c.post(
        "/p/acme/console/customers/hooli/licenses/new",
        {"name": "Hooli license", "valid_from": "2024-01-01"},
    )
    license = License.objects.get(customer__slug="hooli")
    assert response["Location"] == f"/p/acme/console/licenses/{license.pk}/"
    c.post(
        f"/p/acme/console/licenses/{license.pk}/grants/add",
        {"repository": "acme/app", "rule": "glob", "pattern": "2.*"},
    )
    assert list(license.grants.values_list("pattern", flat=True)) == ["2.*"]
    minted = post_mint(c, "/p/acme/console/tokens/", {"name": "deploy", "expires_in_days": "30"})
    assert minted.status_code == 201
    assert AccessToken.objects.filter(kind="push", name="deploy", revoked_at=None).exists()
    c.post("/p/acme/console/customers/hooli/invite", {"email": "a@hooli.test", "role": "admin"})
    assert Invitation.objects.filter(email="a@hooli.test").exists()
    c.post("/p/acme/console/repositories/acme/app/delete", {"reference": "2.0", "confirmed": "1"})
    assert not Tag.objects.filter(repository__name="acme/app", name="2.0").exists()


def test_admin_does_everything(world, acme, acme_admin, acme_viewer):
    c = sign_in(acme_admin, acme)
    viewer = VendorMember.objects.get(user=acme_viewer)
    assert (
        c.post(f"/p/acme/console/staff/{viewer.pk}/role", {"role": "maintainer"}).status_code == 302
    )
    viewer.refresh_from_db()
    assert viewer.role == "maintainer"
    response = c.post(
        "/p/acme/console/branding/",
        {"display_name": "Acme New", "primary_color": "#123456", "accent_color": "#654321"},
    )
    assert response.status_code == 302
    assert Branding.objects.get(vendor=acme).display_name == "Acme New"
    c.post("/p/acme/console/branding/domains/add", {"host": "downloads.acme.test"})
    assert acme.domains.filter(host="downloads.acme.test").exists()
    assert c.post(f"/p/acme/console/staff/{viewer.pk}/remove").status_code == 302
    assert not VendorMember.objects.filter(pk=viewer.pk).exists()


def test_keep_one_admin(world, acme, acme_admin):
    c = sign_in(acme_admin, acme)
    me = world["admin_member"]
    response = c.post(f"/p/acme/console/staff/{me.pk}/role", {"role": "viewer"}, follow=True)
    assert "at least one admin" in messages_text(response)
    me.refresh_from_db()
    assert me.role == "admin"
    response = c.post(f"/p/acme/console/staff/{me.pk}/remove", follow=True)
    assert "at least one admin" in messages_text(response)
    assert VendorMember.objects.filter(pk=me.pk).exists()
    # With a second admin, the first may step down.
    staff_user(acme, "second@acme.test", "admin")
    c.post(f"/p/acme/console/staff/{me.pk}/role", {"role": "viewer"})
    me.refresh_from_db()
    assert me.role == "viewer"


def test_customer_users_are_kept_out_of_the_console(acme, globex_admin):
    c = sign_in(globex_admin, acme)
    response = c.get("/p/acme/console/customers/")
    assert response.status_code == 302 and response["Location"] == "/p/acme/"
    assert c.post("/p/acme/console/customers/", {"name": "X", "slug": "x"}).status_code == 302
    assert not Customer.objects.filter(slug="x").exists()


def test_staff_are_sent_to_the_console_from_customer_pages(acme, acme_viewer):
    response = sign_in(acme_viewer, acme).get("/p/acme/artifacts/")
    assert response.status_code == 302 and response["Location"] == "/p/acme/console/"


def test_anonymous_is_sent_to_login(acme):
    from django.test import Client

    response = Client().get("/p/acme/console/customers/")
    assert response.status_code == 302
    assert response["Location"].startswith(
        "/p/acme/accounts/login/?next=/p/acme/console/customers/"
    )


# --- customer roles -------------------------------------------------------------------


def test_customer_member_cannot_invite_or_remove(acme, customer, globex_admin, globex_member):
    c = sign_in(globex_member, acme)
    page = c.get("/p/acme/team/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "boss@globex.test" in body
    assert 'name="email"' not in body and "/remove" not in body
    mail.outbox.clear()
    assert c.post("/p/acme/team/", {"email": "x@globex.test", "role": "admin"}).status_code == 403
    assert not Invitation.objects.exists() and mail.outbox == []
    admin_member = CustomerMember.objects.get(user=globex_admin)
    assert c.post(f"/p/acme/team/{admin_member.pk}/remove").status_code == 403
    assert CustomerMember.objects.filter(pk=admin_member.pk).exists()
    invitation, _ = invitation_create(
        vendor=acme, customer=customer, email="y@globex.test", role="member"
    )
    assert c.post(f"/p/acme/team/invitations/{invitation.pk}/revoke").status_code == 403
    invitation.refresh_from_db()
    assert invitation.revoked_at is None


def test_customer_admin_removes_a_colleague_but_not_themself(acme, globex_admin, globex_member):
    c = sign_in(globex_admin, acme)
    body = c.get("/p/acme/team/").content.decode()
    member = CustomerMember.objects.get(user=globex_member)
    me = CustomerMember.objects.get(user=globex_admin)
    assert f"/team/{member.pk}/remove" in body and f"/team/{me.pk}/remove" not in body
    response = c.post(f"/p/acme/team/{me.pk}/remove", follow=True)
    assert "cannot remove yourself" in messages_text(response)
    assert CustomerMember.objects.filter(pk=me.pk).exists()
    c.post(f"/p/acme/team/{member.pk}/remove")
    assert not CustomerMember.objects.filter(pk=member.pk).exists()
    # The removed user has no access any more.
    assert sign_in(globex_member, acme).get("/p/acme/overview/").status_code == 403


def test_customer_admin_cannot_remove_another_customers_user(acme, customer, globex_admin):
    from customers.services import customer_create

    hooli = customer_create(vendor=acme, slug="hooli", name="Hooli")[0]
    outsider = customer_user(hooli, "x@hooli.test", "member")
    member = CustomerMember.objects.get(user=outsider)
    assert sign_in(globex_admin, acme).post(f"/p/acme/team/{member.pk}/remove").status_code == 404
    assert CustomerMember.objects.filter(pk=member.pk).exists()


def test_member_revokes_own_token_not_a_colleagues(acme, customer, globex_admin, globex_member):
    mine = token_mint(
        vendor=acme, customer=customer, kind="pull", name="mine", created_by=globex_member
    ).token
    theirs = token_mint(
        vendor=acme, customer=customer, kind="pull", name="theirs", created_by=globex_admin
    ).token
    c = sign_in(globex_member, acme)
    page = c.get("/p/acme/tokens/").content.decode()
    assert f"/tokens/{mine.pk}/revoke" in page
    assert f"/tokens/{theirs.pk}/revoke" not in page
    response = c.post(f"/p/acme/tokens/{theirs.pk}/revoke", {"confirmed": "1"}, follow=True)
    assert "Only its creator or an admin" in messages_text(response)
    theirs.refresh_from_db()
    assert theirs.revoked_at is None
    c.post(f"/p/acme/tokens/{mine.pk}/revoke", {"confirmed": "1"})
    mine.refresh_from_db()
    assert mine.revoked_at is not None


def test_customer_admin_revokes_a_colleagues_token(acme, customer, globex_admin, globex_member):
    theirs = token_mint(
        vendor=acme, customer=customer, kind="pull", name="theirs", created_by=globex_member
    ).token
    sign_in(globex_admin, acme).post(f"/p/acme/tokens/{theirs.pk}/revoke", {"confirmed": "1"})
    theirs.refresh_from_db()
    assert theirs.revoked_at is not None


def test_logo_upload_refused_for_maintainer(world, acme, acme_maintainer):
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
    response = sign_in(acme_maintainer, acme).post(
        "/p/acme/console/branding/",
        {
            "display_name": "x",
            "primary_color": "#000000",
            "accent_color": "#000000",
            "logo": SimpleUploadedFile("l.png", png, content_type="image/png"),
        },
    )
    assert response.status_code == 403
    assert Branding.objects.get(vendor=acme).logo_type == ""
