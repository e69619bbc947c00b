"""Customers over the REST API: create, read, list (cursor pages with Link), update,
suspend and resume; input errors as problem+json; another vendor's customers unseen."""

import pytest
from django.test import Client
from django.utils import timezone

from customers.models import AuditEvent, Customer
from customers.services import customer_create
from tests.api.conftest import problem

pytestmark = pytest.mark.django_db
URL = "/api/v1/customers/"


def test_create_read_update_suspend_resume(admin, vendor):
    created = admin.post(
        URL, {"slug": "initech", "name": "Initech"}, content_type="application/json"
    )
    assert created.status_code == 201, created.content
    assert created["Location"] == "/api/v1/customers/initech"
    assert created.json() | {"created_at": None} == {
        "slug": "initech",
        "name": "Initech",
        "contact_email": "",
        "notes": "",
        "suspended": False,
        "suspended_at": None,
        "created_at": None,
    }
    patched = admin.patch(f"{URL}initech", {"notes": "enterprise"}, content_type="application/json")
    assert patched.status_code == 200
    assert (patched.json()["name"], patched.json()["notes"]) == ("Initech", "enterprise")
    suspended = admin.post(f"{URL}initech/suspend")
    assert suspended.status_code == 200 and suspended.json()["suspended"] is True
    resumed = admin.post(f"{URL}initech/resume")
    assert resumed.status_code == 200 and resumed.json()["suspended"] is False
    actions = list(
        AuditEvent.objects.filter(vendor=vendor, target__contains="initech")
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions == [
        "customer.created",
        "customer.updated",
        "customer.suspended",
        "customer.resumed",
    ]


def test_list_pages_with_a_cursor_and_link_headers(admin, vendor):
    for slug in ("c1", "c2", "c3", "c4", "c5"):
        assert admin.post(URL, {"slug": slug}, content_type="application/json").status_code == 201
    first = admin.get(URL, {"limit": 2})
    assert first.status_code == 200
    assert [c["slug"] for c in first.json()["results"]] == ["c1", "c2"]
    assert first["Link"].endswith('rel="next"')
    seen = [c["slug"] for c in first.json()["results"]]
    url = first.json()["next"]
    while url:
        page = admin.get(url)
        seen += [c["slug"] for c in page.json()["results"]]
        url = page.json()["next"]
    assert seen == ["c1", "c2", "c3", "c4", "c5"]
    by_name_desc = admin.get(URL, {"ordering": "-slug", "limit": 1})
    assert by_name_desc.json()["results"][0]["slug"] == "c5"
    assert [c["slug"] for c in admin.get(URL, {"search": "c3"}).json()["results"]] == ["c3"]


def test_invalid_input_is_a_problem_with_field_errors(admin):
    body = problem(admin.post(URL, {"slug": "not a slug!"}, content_type="application/json"), 400)
    assert list(body["errors"]) == ["slug"]
    body = problem(admin.post(URL, "{", content_type="application/json"), 400)
    assert "JSON" in body["detail"]


def test_what_the_model_refuses_is_a_422_problem(admin):
    body = problem(admin.post(URL, {"slug": "Upper"}, content_type="application/json"), 422)
    assert list(body["errors"]) == ["slug"]
    assert Customer.objects.count() == 0


def test_an_existing_slug_is_a_conflict(admin, globex):
    body = problem(admin.post(URL, {"slug": "globex"}, content_type="application/json"), 409)
    assert body["detail"] == "customer 'globex' exists"


def test_another_vendors_customers_do_not_exist_here(admin, other_vendor):
    customer_create(vendor=other_vendor, slug="hidden")
    assert [c["slug"] for c in admin.get(URL).json()["results"]] == []
    problem(admin.get(f"{URL}hidden"), 404)
    problem(admin.patch(f"{URL}hidden", {"name": "x"}, content_type="application/json"), 404)
    problem(admin.post(f"{URL}hidden/suspend"), 404)
    assert Customer.objects.get(slug="hidden").suspended_at is None


def test_a_viewer_reads_but_may_not_write(viewer, globex):
    assert viewer.get(f"{URL}globex").status_code == 200
    problem(viewer.post(URL, {"slug": "x"}, content_type="application/json"), 403)
    problem(viewer.post(f"{URL}globex/suspend"), 403)
    assert Customer.objects.filter(slug="x").exists() is False


def test_anonymous_callers_get_401_problem(db):
    body = problem(Client().get(URL), 401)
    assert body["title"] == "Authentication required"


def test_delete_needs_suspension_then_takes_everything_of_the_customer(admin, vendor, globex):
    from analytics.models import PullEvent
    from customers.services import token_mint
    from licensing.models import License, LicenseGrant
    from licensing.services import grant_add, license_create

    license = license_create(vendor=vendor, customer=globex, name="Enterprise")
    grant_add(license=license, repository_name="acme/app", tag_rule="glob:*")
    pull = token_mint(vendor=vendor, kind="pull", name="cluster", customer=globex)
    PullEvent.objects.create(
        stream_id="db:t1", vendor=vendor, customer=globex, repository="acme/app",
        reference="1.0", digest="sha256:" + "0" * 64, occurred_at=timezone.now(),
    )  # fmt: skip
    active = admin.delete(f"{URL}globex")
    assert problem(active, 409)["detail"] == "suspend the customer before deleting it"
    assert Customer.objects.filter(pk=globex.pk).exists()
    assert admin.post(f"{URL}globex/suspend").status_code == 200
    deleted = admin.delete(f"{URL}globex")
    assert deleted.status_code == 204 and deleted.content == b""
    assert not Customer.objects.filter(pk=globex.pk).exists()
    assert not License.objects.filter(pk=license.pk).exists()
    assert not LicenseGrant.objects.filter(license_id=license.pk).exists()
    assert not pull.token.__class__.objects.filter(pk=pull.token.pk).exists()
    assert not PullEvent.objects.filter(customer_id=globex.pk).exists()
    event = AuditEvent.objects.get(action="customer.deleted")
    assert (event.vendor, event.target) == (vendor, "customer:globex")
    assert event.details == {"name": "Globex", "licenses": 1, "tokens": 1, "members": 0}
    assert problem(admin.get(f"{URL}globex"), 404)
    assert problem(admin.delete(f"{URL}globex"), 404)


def test_only_admins_and_customer_write_tokens_delete(vendor, globex, other_vendor):
    from customers.services import customer_set_suspended, token_mint
    from tests.portal.conftest import staff_user

    customer_set_suspended(customer=globex, suspended=True)
    maintainer = Client()
    maintainer.force_login(staff_user(vendor, "maint@acme.test", "maintainer"))
    assert problem(maintainer.delete(f"{URL}globex"), 403)["detail"] == (
        "your role may not make this change"
    )
    # ...though a maintainer may still suspend and edit, as in the console.
    assert (
        maintainer.patch(
            f"{URL}globex", {"notes": "x"}, content_type="application/json"
        ).status_code
        == 200
    )
    read = token_mint(vendor=vendor, kind="api", name="ro", scopes=["customers:read"]).secret
    assert problem(Client(HTTP_AUTHORIZATION=f"Bearer {read}").delete(f"{URL}globex"), 403)
    foreign = token_mint(vendor=other_vendor, kind="api", name="x", scopes=["write"]).secret
    assert problem(Client(HTTP_AUTHORIZATION=f"Bearer {foreign}").delete(f"{URL}globex"), 404)
    assert Customer.objects.filter(pk=globex.pk).exists()
    write = token_mint(vendor=vendor, kind="api", name="crm", scopes=["customers:write"])
    answer = Client(HTTP_AUTHORIZATION=f"Bearer {write.secret}").delete(f"{URL}globex")
    assert answer.status_code == 204
    event = AuditEvent.objects.get(action="customer.deleted")
    assert event.actor == f"token:{write.token.prefix}"


def test_a_maintainer_session_cannot_change_admin_only_areas(vendor):
    from tests.portal.conftest import staff_user

    maintainer = Client()
    maintainer.force_login(staff_user(vendor, "maint@acme.test", "maintainer"))
    branding = maintainer.patch(
        "/api/v1/branding", {"display_name": "Hijacked"}, content_type="application/json"
    )
    assert problem(branding, 403)
    hook = maintainer.post(
        "/api/v1/webhooks/",
        {"url": "https://hooks.example.com/x", "event_types": ["customer.created"]},
        content_type="application/json",
    )
    assert problem(hook, 403)
