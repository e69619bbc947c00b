"""The vendor console's customer and license editor: create a customer and a license,
add grants, preview the tags a grant covers, and invalid patterns shown as errors."""

import pytest

from customers.models import AuditEvent, Customer
from licensing.models import License, LicenseGrant
from tests.conftest import license_grant
from tests.portal.conftest import messages_text, sign_in

pytestmark = pytest.mark.django_db
FETCH = {"HTTP_X_REQUESTED_WITH": "fetch"}


@pytest.fixture
def staff(acme, acme_maintainer):
    return sign_in(acme_maintainer, acme)


def test_create_customer(staff, acme):
    response = staff.post(
        "/p/acme/console/customers/",
        {"name": "Hooli", "slug": "hooli", "contact_email": "it@hooli.test", "notes": "big"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/p/acme/console/customers/hooli/"
    hooli = Customer.objects.get(vendor=acme, slug="hooli")
    assert hooli.name == "Hooli" and hooli.contact_email == "it@hooli.test" and hooli.notes == "big"
    assert b"Hooli" in staff.get("/p/acme/console/customers/").content


def test_duplicate_customer_slug_is_a_form_error(staff, customer):
    response = staff.post("/p/acme/console/customers/", {"name": "Other", "slug": "globex"})
    assert response.status_code == 400
    assert "exists already" in " ".join(response.context["form"].errors["slug"])
    assert Customer.objects.get(slug="globex").name == "Globex"


def test_customer_search(staff, customer):
    from customers.services import customer_create

    customer_create(vendor=customer.vendor, slug="hooli", name="Hooli")
    body = staff.get("/p/acme/console/customers/?q=hoo").content.decode()
    assert "Hooli" in body and "Globex" not in body


def test_edit_customer(staff, customer):
    staff.post(
        "/p/acme/console/customers/globex/",
        {"name": "Globex Corp", "contact_email": "a@globex.test", "notes": ""},
    )
    customer.refresh_from_db()
    assert customer.name == "Globex Corp" and customer.contact_email == "a@globex.test"


def test_create_license_and_add_grant(staff, customer, pushed):
    response = staff.post(
        "/p/acme/console/customers/globex/licenses/new",
        {"name": "Globex 1.x", "valid_from": "2024-01-01", "valid_until": "2099-12-31"},
    )
    license = License.objects.get(customer=customer)
    assert response["Location"] == f"/p/acme/console/licenses/{license.pk}/"
    assert str(license.valid_from) == "2024-01-01" and str(license.valid_until) == "2099-12-31"
    response = staff.post(
        f"/p/acme/console/licenses/{license.pk}/grants/add",
        {"repository": "acme/app", "rule": "glob", "pattern": "1.*", "include_referrers": "on"},
        follow=True,
    )
    assert "Grant added" in messages_text(response)
    grant = LicenseGrant.objects.get(license=license)
    assert (grant.repository_name, grant.rule, grant.pattern) == ("acme/app", "glob", "1.*")
    assert grant.include_referrers is True
    page = staff.get(f"/p/acme/console/licenses/{license.pk}/").content.decode()
    # Coverage now: 1.1, not 2.0.
    assert "<code>1.1</code>" in page and "<code>2.0</code>" not in page
    assert AuditEvent.objects.filter(
        action="license.created", target=f"license:{license.pk}"
    ).exists()
    assert AuditEvent.objects.filter(action="grant.added", target=f"license:{license.pk}").exists()


def test_license_ending_before_it_starts_is_refused(staff, customer):
    response = staff.post(
        "/p/acme/console/customers/globex/licenses/new",
        {"name": "Bad", "valid_from": "2024-02-01", "valid_until": "2024-01-01"},
        follow=True,
    )
    assert response.status_code == 200
    assert "cannot end before it starts" in messages_text(response)
    assert not License.objects.exists()


@pytest.mark.parametrize(
    "rule,pattern",
    [("semver", ">=1.0,<<2"), ("semver", "not a range"), ("semver", "1.*")],
)
def test_invalid_pattern_is_an_error_not_a_500(staff, customer, pushed, rule, pattern):
    license = license_grant(customer, "acme/app", "glob:1.*")
    response = staff.post(
        f"/p/acme/console/licenses/{license.pk}/grants/add",
        {"repository": "acme/app", "rule": rule, "pattern": pattern},
    )
    assert response.status_code == 400
    assert "invalid version range" in " ".join(response.context["grant_form"].errors["pattern"])
    assert LicenseGrant.objects.filter(license=license).count() == 1
    preview = staff.get(
        "/p/acme/console/grant-preview",
        {"repository": "acme/app", "rule": rule, "pattern": pattern},
        **FETCH,
    )
    assert preview.status_code == 200
    assert "invalid version range" in preview.content.decode()
    assert preview.context["tags"] == []


def test_grant_for_a_repository_not_pushed_yet_is_accepted(staff, customer, pushed):
    license = license_grant(customer, "acme/app", "glob:1.*")
    response = staff.post(
        f"/p/acme/console/licenses/{license.pk}/grants/add",
        {"repository": "acme/later", "rule": "glob", "pattern": "*"},
        follow=True,
    )
    assert "Grant added" in messages_text(response)
    assert sorted(license.grants.values_list("repository_name", flat=True)) == [
        "acme/app",
        "acme/later",
    ]


def test_grant_form_accepts_a_pattern(staff, customer, pushed):
    license = license_grant(customer, "acme/app", "glob:1.*")
    response = staff.post(
        f"/p/acme/console/licenses/{license.pk}/grants/add",
        {"repository": "acme/*", "rule": "semver", "pattern": ">=2"},
        follow=True,
    )
    assert "Grant added" in messages_text(response)
    assert license.grants.filter(repository_name="acme/*", rule="semver").exists()
    page = response.content.decode()
    assert "<code>acme/*</code>" in page and "<code>acme/app:2.0</code>" in page
    event = AuditEvent.objects.get(action="grant.added", details__repository="acme/*")
    assert event.actor.startswith("user:") and event.details["rule"] == "semver:>=2"


@pytest.mark.parametrize(
    "repository, error",
    [
        ("umbrella/charts/*", "a grant names repositories inside acme/"),
        ("acme/Charts/*", "invalid repository name or pattern 'acme/Charts/*'"),
        ("acme/**/x", "** may only stand alone as the last component"),
    ],
)
def test_rejected_grant_pattern_keeps_what_was_typed(staff, customer, pushed, repository, error):
    license = license_grant(customer, "acme/app", "glob:1.*")
    response = staff.post(
        f"/p/acme/console/licenses/{license.pk}/grants/add",
        {"repository": repository, "rule": "semver", "pattern": ">=2,<3"},
    )
    assert response.status_code == 400
    form = response.context["grant_form"]
    assert error in " ".join(form.errors["repository"])
    page = response.content.decode()
    assert f'value="{repository}"' in page and 'value="&gt;=2,&lt;3"' in page
    assert '<option value="semver" selected>' in page
    assert error.replace("'", "&#x27;") in page
    assert LicenseGrant.objects.filter(license=license).count() == 1
    assert (
        not AuditEvent.objects.filter(action="grant.added")
        .exclude(details__repository="acme/app")
        .exists()
    )


def test_grant_preview_fragment_and_page(staff, pushed):
    params = {"repository": "acme/app", "rule": "glob", "pattern": "1.*"}
    fragment = staff.get("/p/acme/console/grant-preview", params, **FETCH)
    assert fragment.status_code == 200
    body = fragment.content.decode()
    assert "<html" not in body
    assert '<span class="badge">1.1</span>' in body
    assert "2.0" not in body
    assert fragment.context["tags"] == ["1.1"]

    page = staff.get("/p/acme/console/grant-preview", params)
    assert page.status_code == 200
    body = page.content.decode()
    assert "<html" in body and "Grant preview" in body and "Acme Software" in body
    assert '<span class="badge">1.1</span>' in body and "2.0" not in body


def test_grant_preview_semver_and_exact(staff, pushed):
    semver = staff.get(
        "/p/acme/console/grant-preview",
        {"repository": "acme/app", "rule": "semver", "pattern": ">=2"},
        **FETCH,
    )
    assert semver.context["tags"] == ["2.0"]
    exact = staff.get(
        "/p/acme/console/grant-preview",
        {"repository": "acme/app", "rule": "exact", "pattern": "1.1"},
        **FETCH,
    )
    assert exact.context["tags"] == ["1.1"]


def test_grant_preview_needs_a_repository_of_this_vendor(staff, pushed):
    response = staff.get(
        "/p/acme/console/grant-preview", {"repository": "umbrella/app", "pattern": "*"}, **FETCH
    )
    assert "a grant names repositories inside acme/" in response.content.decode()
    assert response.context["tags"] == []


def test_grant_preview_of_a_pattern_lists_repository_and_tag(staff, pushed):
    response = staff.get(
        "/p/acme/console/grant-preview",
        {"repository": "acme/*", "rule": "glob", "pattern": "*"},
        **FETCH,
    )
    assert response.context["tags"] == ["acme/app:2.0", "acme/app:1.1"]
    nothing = staff.get(
        "/p/acme/console/grant-preview",
        {"repository": "acme/app/*", "rule": "glob", "pattern": "*"},
        **FETCH,
    )
    assert nothing.context["tags"] == []


def test_viewer_may_preview(acme, acme_viewer, pushed):
    response = sign_in(acme_viewer, acme).get(
        "/p/acme/console/grant-preview",
        {"repository": "acme/app", "rule": "glob", "pattern": "*"},
        **FETCH,
    )
    assert sorted(response.context["tags"]) == ["1.1", "2.0"]


def test_remove_grant_and_suspend_license(staff, customer, pushed):
    license = license_grant(customer, "acme/app", "glob:1.*")
    grant = license.grants.get()
    staff.post(f"/p/acme/console/grants/{grant.pk}/remove")
    assert not LicenseGrant.objects.filter(pk=grant.pk).exists()
    staff.post(
        f"/p/acme/console/licenses/{license.pk}/status", {"status": "suspended", "confirmed": "1"}
    )
    license.refresh_from_db()
    assert license.status == "suspended"
    assert (
        staff.post(f"/p/acme/console/licenses/{license.pk}/status", {"status": "bogus"}).status_code
        == 404
    )


def test_manifest_detail_and_repository_pages(staff, pushed):
    repo = staff.get("/p/acme/console/repositories/acme/app/").content.decode()
    assert pushed["1.1"] in repo and pushed["2.0"] in repo
    detail = staff.get(f"/p/acme/console/repositories/acme/app/manifests/{pushed['1.1']}")
    assert detail.status_code == 200
    assert pushed["1.1"] in detail.content.decode()
    assert detail.context["tags"] == ["1.1"]
    assert (
        staff.get("/p/acme/console/repositories/acme/app/manifests/sha256:" + "0" * 64).status_code
        == 404
    )
