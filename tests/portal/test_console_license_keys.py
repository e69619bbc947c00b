"""Console: entitlement fields, plans (a change lists the licenses it changes and applies
only on confirm), a license's plan and values, and instances (per customer, per version,
over their seats, keys issued). Maintainers and admins write; viewers read; another
vendor's ids answer 404."""

import json

import pytest
from django.test import Client
from django.utils import timezone

from customers.models import AuditEvent
from licensing.keys import license_key_current
from licensing.models import EntitlementField, License, Plan
from licensing.plans import field_create, license_plan_set, plan_create
from licensing.services import license_create
from tests.portal.conftest import messages_text, sign_in

pytestmark = pytest.mark.django_db
PLANS = "/p/acme/console/plans/"


@pytest.fixture
def license(acme, customer):
    return license_create(vendor=acme, customer=customer, name="Gold")


@pytest.fixture
def plan(acme):
    field_create(vendor=acme, key="tier", kind="one_of", choices=["starter", "enterprise"])
    return plan_create(
        vendor=acme,
        name="Business",
        values={"tier": "starter"},
        seats=2,
        grants=[{"repository_name": "acme/app", "rule": "glob:1.*"}],
    )


def test_maintainer_adds_a_field_and_a_plan(acme, acme_maintainer):
    staff = sign_in(acme_maintainer, acme)
    added = staff.post(
        f"{PLANS}fields/add",
        {"key": "sso", "label": "Single sign-on", "kind": "boolean", "default": "false"},
        follow=True,
    )
    assert "Field sso added. Every license key gets it." in messages_text(added)
    field = EntitlementField.objects.get(vendor=acme, key="sso")
    assert (field.kind, field.default, field.customer_visible) == ("boolean", False, False)

    made = staff.post(
        f"{PLANS}add",
        {
            "name": "Enterprise",
            "seats": "10",
            "lease_days": "14",
            "value_sso": "true",
            "grants": "app semver:>=1.0\ncharts/* glob:* no-referrers",
        },
        follow=True,
    )
    plan = Plan.objects.get(vendor=acme, name="Enterprise")
    assert made.redirect_chain[-1][0] == f"{PLANS}{plan.pk}/"
    assert (plan.seats, plan.lease_seconds, plan.values) == (10, 14 * 86400, {"sso": True})
    assert plan.grants == [
        {"repository_name": "acme/app", "rule": "semver:>=1.0", "include_referrers": True},
        {"repository_name": "acme/charts/*", "rule": "glob:*", "include_referrers": False},
    ]
    actions = set(AuditEvent.objects.filter(vendor=acme).values_list("action", flat=True))
    assert {AuditEvent.Action.FIELD_CREATED, AuditEvent.Action.PLAN_CREATED} <= actions
    listed = staff.get(PLANS).content.decode()
    assert "<code>sso</code>" in listed and "Enterprise" in listed


def test_bad_input_answers_400_with_the_reason_and_changes_nothing(acme, acme_admin, plan):
    staff = sign_in(acme_admin, acme)
    bad = staff.post(f"{PLANS}fields/add", {"key": "tier", "kind": "string"})
    assert bad.status_code == 400 and "a field tier exists already" in bad.content.decode()
    bad = staff.post(f"{PLANS}add", {"name": "X", "lease_days": "7", "value_tier": "gold"})
    assert bad.status_code == 400 and "tier: one of starter, enterprise" in bad.content.decode()
    bad = staff.post(f"{PLANS}add", {"name": "Y", "lease_days": "7", "grants": "app"})
    assert bad.status_code == 400 and "repository rule [no-referrers]" in bad.content.decode()
    assert list(Plan.objects.filter(vendor=acme).values_list("name", flat=True)) == ["Business"]


def test_a_plan_change_lists_its_licenses_and_applies_on_confirm(acme, acme_admin, plan, license):
    license = license_plan_set(license=license, plan=plan)
    sequence = license.sequence
    staff = sign_in(acme_admin, acme)
    change = {
        "name": "Business",
        "seats": "5",
        "lease_days": "7",
        "value_tier": "enterprise",
        "grants": "app glob:2.*",
    }
    ask = staff.post(f"{PLANS}{plan.pk}/", change)
    assert ask.status_code == 200
    body = ask.content.decode()
    assert "Apply the change to 1 license(s)?" in body and "Globex: Gold" in body
    license.refresh_from_db()
    assert license.sequence == sequence  # nothing changed yet
    assert [g.pattern for g in license.grants.all()] == ["1.*"]

    done = staff.post(f"{PLANS}{plan.pk}/", {**change, "confirmed": "1"}, follow=True)
    assert "Plan Business saved; 1 license(s) changed." in messages_text(done)
    license.refresh_from_db()
    assert license.sequence == sequence + 1
    assert [(g.pattern, g.from_plan) for g in license.grants.all()] == [("2.*", True)]
    assert AuditEvent.objects.filter(action=AuditEvent.Action.PLAN_UPDATED).count() == 1


def test_the_license_page_sets_the_plan_and_overrides(acme, acme_admin, plan, license):
    staff = sign_in(acme_admin, acme)
    page = f"/p/acme/console/licenses/{license.pk}/"
    saved = staff.post(
        f"{page}plan", {"plan": str(plan.pk), "seats": "4", "value_tier": "enterprise"}, follow=True
    )
    assert "Plan and values saved; the license key is issued again." in messages_text(saved)
    license.refresh_from_db()
    assert (license.plan_id, license.seats, license.values) == (plan.pk, 4, {"tier": "enterprise"})
    assert [g.pattern for g in license.grants.all()] == ["1.*"]
    shown = staff.get(page).content.decode()
    assert "0 used of 4" in shown and "<code>enterprise</code>" in shown
    bad = staff.post(f"{page}plan", {"plan": str(plan.pk), "value_tier": "platinum"}, follow=True)
    assert "tier: one of starter, enterprise" in messages_text(bad)
    license.refresh_from_db()
    assert license.values == {"tier": "enterprise"}


def test_instances_show_versions_seats_and_keys(acme, acme_viewer, plan, license):
    license = license_plan_set(license=license, plan=plan)  # 2 seats
    key = license_key_current(license)
    for instance, version in (("a", "1.2.0"), ("b", "1.2.0"), ("c", "1.3.0")):
        answer = Client().post(
            "/api/v1/license/check-in",
            json.dumps({"key": key, "instance_id": instance, "version": version}),
            content_type="application/json",
        )
        assert answer.status_code == 200
    assert answer.json()["seats"] == {"state": "over_limit", "used": 3, "bought": 2}
    staff = sign_in(acme_viewer, acme)
    page = staff.get("/p/acme/console/instances/")
    assert page.status_code == 200
    versions = page.context["versions"]
    assert versions == [("1.2.0", 2), ("1.3.0", 1)]
    assert [(lic.pk, seats["used"]) for lic, seats in page.context["over_seats"]] == [
        (license.pk, 3)
    ]
    assert [k.sequence for k in page.context["keys"]] == [license.sequence]
    customer_page = staff.get("/p/acme/console/customers/globex/").content.decode()
    assert "<code>1.3.0</code>" in customer_page and "Online" in customer_page


def test_a_viewer_reads_but_cannot_write(acme, acme_viewer, plan, license):
    staff = sign_in(acme_viewer, acme)
    assert staff.get(PLANS).status_code == 200
    assert staff.get(f"{PLANS}{plan.pk}/").status_code == 200
    assert "Add a plan" not in staff.get(PLANS).content.decode()
    refused = [
        staff.post(f"{PLANS}fields/add", {"key": "x", "kind": "string"}),
        staff.post(f"{PLANS}add", {"name": "Z", "lease_days": "7"}),
        staff.post(f"{PLANS}{plan.pk}/", {"name": "Other", "lease_days": "7", "confirmed": "1"}),
        staff.post(f"{PLANS}{plan.pk}/delete", {"confirmed": "1"}),
        staff.post(f"{PLANS}fields/tier/delete", {"confirmed": "1"}),
        staff.post(f"/p/acme/console/licenses/{license.pk}/plan", {"plan": str(plan.pk)}),
    ]
    assert [r.status_code for r in refused] == [403] * 6
    assert Plan.objects.get(pk=plan.pk).name == "Business"
    assert EntitlementField.objects.filter(vendor=acme).count() == 1
    assert License.objects.get(pk=license.pk).plan_id is None


def test_another_vendors_ids_answer_404(acme, umbrella, umbrella_admin, plan, license):
    other = sign_in(umbrella_admin, umbrella)
    assert other.get(f"/p/umbrella/console/plans/{plan.pk}/").status_code == 404
    assert other.get("/p/umbrella/console/plans/fields/tier/").status_code == 404
    assert (
        other.post(f"/p/umbrella/console/plans/{plan.pk}/delete", {"confirmed": "1"}).status_code
        == 404
    )
    assert (
        other.post("/p/umbrella/console/plans/fields/tier/delete", {"confirmed": "1"}).status_code
        == 404
    )
    assert (
        other.post(f"/p/umbrella/console/licenses/{license.pk}/plan", {"plan": ""}).status_code
        == 404
    )
    assert other.get("/p/umbrella/console/plans/").context["plans"] == []
    assert Plan.objects.filter(pk=plan.pk).exists()
    assert EntitlementField.objects.filter(vendor=acme, key="tier").exists()


def test_a_field_and_a_plan_are_deleted_after_a_confirmation(acme, acme_admin, plan, license):
    staff = sign_in(acme_admin, acme)
    ask = staff.post(f"{PLANS}fields/tier/delete")
    assert ask.status_code == 200 and "Delete field tier?" in ask.content.decode()
    assert EntitlementField.objects.filter(vendor=acme, key="tier").exists()
    done = staff.post(f"{PLANS}fields/tier/delete", {"confirmed": "1"}, follow=True)
    assert "Field tier deleted." in messages_text(done)
    assert not EntitlementField.objects.filter(vendor=acme).exists()
    assert Plan.objects.get(pk=plan.pk).values == {}

    license_plan_set(license=license, plan=plan)
    used = staff.post(f"{PLANS}{plan.pk}/delete", {"confirmed": "1"}, follow=True)
    assert "licenses use this plan" in messages_text(used)
    license_plan_set(license=license, plan=None)
    gone = staff.post(f"{PLANS}{plan.pk}/delete", {"confirmed": "1"}, follow=True)
    assert "Plan Business deleted." in messages_text(gone)
    assert not Plan.objects.filter(pk=plan.pk).exists()
    assert AuditEvent.objects.filter(action=AuditEvent.Action.PLAN_DELETED).count() == 1


def test_version_adoption_shows_what_instances_run_beside_what_was_pulled(
    acme, acme_viewer, customer, plan, license
):
    from analytics.models import PullRollup

    PullRollup.objects.create(
        key="k1",
        vendor=acme,
        customer=customer,
        repository="acme/app",
        tag="1.2.0",
        digest="sha256:" + "1" * 64,
        day=timezone.localdate(),
        pulls=4,
    )
    key = license_key_current(license_plan_set(license=license, plan=plan))
    for instance, version in (("a", "1.2.0"), ("b", "1.2.0"), ("c", "1.1.9")):
        Client().post(
            "/api/v1/license/check-in",
            json.dumps({"key": key, "instance_id": instance, "version": version}),
            content_type="application/json",
        )
    staff = sign_in(acme_viewer, acme)
    rows = staff.get("/p/acme/console/analytics/?days=30").context["adoption"]
    assert [(r["customer"], r["newest_tag"], r["running"]) for r in rows] == [
        ("globex", "1.2.0", "1.1.9, 1.2.0 ×2")
    ]
    page = staff.get("/p/acme/console/analytics/customers/globex/?days=30")
    assert [r["running"] for r in page.context["adoption"]] == ["1.1.9, 1.2.0 ×2"]
    csv = staff.get(
        "/p/acme/console/analytics/export/version-adoption.csv?days=30"
    ).content.decode()
    assert csv.splitlines()[0].endswith(",running") and "1.1.9, 1.2.0 ×2" in csv
