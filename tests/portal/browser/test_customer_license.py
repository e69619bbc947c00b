"""The customer's license page in Chromium: plan, the fields marked visible (not the
hidden ones), seats used of bought, the key copied to the clipboard; axe-core passes, at
desktop width and on a phone."""

import jwt

from customers.services import customer_create
from licensing.checkins import check_in
from licensing.keys import license_key_current
from licensing.plans import field_create, license_plan_set, plan_create
from licensing.services import license_create
from tests.portal.browser.conftest import axe_violations, screenshot
from tests.portal.browser.helpers import brand, customer_user, portal_url, sign_in

HOST = "portal.acme.test"


def test_customer_sees_plan_visible_fields_seats_and_copies_the_key(
    live_registry, vendor, new_page, axe_script
):
    brand(vendor, HOST, display_name="Acme Software")
    initech = customer_create(vendor=vendor, slug="initech", name="Initech")[0]
    customer_user(initech, "ops@initech.test")
    field_create(
        vendor=vendor, key="sso", label="Single sign-on", kind="boolean", customer_visible=True
    )
    field_create(
        vendor=vendor, key="max_projects", label="Projects", kind="integer", customer_visible=True
    )
    field_create(vendor=vendor, key="discount_code", label="Discount code", kind="string")
    plan = plan_create(
        vendor=vendor,
        name="Business",
        values={"sso": True, "max_projects": 40, "discount_code": "SECRET-DEAL"},
        seats=3,
    )
    lic = license_plan_set(
        license=license_create(vendor=vendor, customer=initech, name="Initech prod"), plan=plan
    )
    key = license_key_current(lic)
    check_in(key=key, instance_id="node-a", version="1.2.0")
    check_in(key=key, instance_id="node-b", version="1.2.0")

    for width in (1280, 375):
        page = new_page(width=width, height=900)
        # The test origin is plain http (no clipboard API there): record what the page's
        # copy fallback (execCommand) copies.
        page.add_init_script(
            "const exec = document.execCommand.bind(document);"
            "document.execCommand = (c, ...a) => { if (c === 'copy') { const el ="
            " document.activeElement; window.__copied = (el && el.value) ||"
            " String(document.getSelection()); } return exec(c, ...a); };"
        )
        sign_in(page, portal_url(live_registry, HOST, "/accounts/login/"), "ops@initech.test")
        page.goto(portal_url(live_registry, HOST, "/licenses/"))
        main = page.inner_text("main")
        assert "Initech prod" in main and "Business" in main
        assert "Single sign-on" in main and "Projects" in main and "40" in main
        assert "Discount code" not in main and "SECRET-DEAL" not in main
        assert page.inner_text(".seats").startswith("2 used of 3")
        assert axe_violations(page, axe_script) == []
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        screenshot(page, f"customer-license-{width}")
    page.locator(f"button[data-copy='key-{lic.pk}']").click()
    page.wait_for_function("window.__copied !== undefined")
    copied = page.evaluate("window.__copied")
    assert copied.strip() == key
    assert jwt.get_unverified_header(copied)["typ"] == "distr-license+jwt"
