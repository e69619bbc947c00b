"""The console's plans, plan, license-key and instances pages in Chromium: an admin adds a
field and a plan, puts a license on it from the license page, sees the instances that
checked in; every page passes axe-core and fits a 375 px screen."""

import json

import pytest
from django.test import Client

from customers.services import customer_create
from licensing.keys import license_key_current
from licensing.models import License, Plan
from tests.portal.browser.conftest import axe_violations, screenshot
from tests.portal.browser.helpers import brand, portal_url, sign_in, staff

HOST = "portal.acme.test"


@pytest.fixture
def console(live_registry, vendor):
    brand(vendor, HOST, display_name="Acme Software", primary_color="#1d4ed8")
    staff(vendor, "admin@acme.test")
    initech = customer_create(vendor=vendor, slug="initech", name="Initech")[0]
    from licensing.services import license_create

    return license_create(vendor=vendor, customer=initech, name="Initech main")


def _check(page, axe_script, width):
    assert axe_violations(page, axe_script) == [], page.url
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"{page.url} is {scroll}px wide at {width}px"


@pytest.mark.parametrize("width", [1280, 375])
def test_plans_license_key_and_instances_pages(live_registry, console, new_page, axe_script, width):
    page = new_page(width=width, height=900)
    sign_in(page, portal_url(live_registry, HOST, "/accounts/login/"), "admin@acme.test")
    page.goto(portal_url(live_registry, HOST, "/console/plans/"))
    _check(page, axe_script, width)

    page.click("summary:has-text('Add a field')")
    page.fill("#field_key", "tier")
    page.select_option("#field_kind", "one_of")
    page.fill("#field_choices", "starter, enterprise")
    page.check("#field_customer_visible")
    page.click("button:has-text('Add field')")
    assert "Field tier added." in page.inner_text("main")

    page.click("summary:has-text('Add a plan')")
    page.fill("#plan_name", "Enterprise")
    page.fill("#plan_seats", "1")
    page.fill("#plan_value_tier", "enterprise")
    page.fill("#plan_grants", "app glob:*")
    page.click("button:has-text('Add plan')")
    assert page.inner_text("main h1") == "Plan Enterprise"
    _check(page, axe_script, width)
    plan = Plan.objects.get(name="Enterprise")

    page.goto(portal_url(live_registry, HOST, f"/console/licenses/{console.pk}/"))
    page.click("summary:has-text('Change plan, seats and values')")
    page.select_option("#plan_plan", str(plan.pk))
    page.click("button:has-text('Save plan and values')")
    assert "the license key is issued again" in page.inner_text("main")
    assert License.objects.get(pk=console.pk).plan_id == plan.pk
    _check(page, axe_script, width)

    key = license_key_current(License.objects.get(pk=console.pk))
    for instance in ("node-a", "node-b"):  # one seat bought: over the limit
        Client().post(
            "/api/v1/license/check-in",
            json.dumps({"key": key, "instance_id": instance, "version": "2.4.1"}),
            content_type="application/json",
        )
    page.goto(portal_url(live_registry, HOST, "/console/instances/"))
    text = page.inner_text("main")
    assert "2.4.1" in text and "node-a" in text and "2 / 1" in text
    _check(page, axe_script, width)
    screenshot(page, f"instances-{width}")
