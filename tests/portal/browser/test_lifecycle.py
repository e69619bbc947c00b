"""The console's storage page in Chromium: an admin adds a retention rule and reads its
dry run; both pages pass axe-core and fit a 375 px screen."""

from lifecycle.models import RetentionRule
from registry.models import GcRun
from tests.portal.browser.conftest import axe_violations
from tests.portal.browser.helpers import brand, portal_url, sign_in, staff

HOST = "portal.acme.test"


def test_add_a_rule_and_read_its_dry_run(live_registry, vendor, new_page, axe_script):
    brand(vendor, HOST, display_name="Acme Software")
    staff(vendor, "admin@acme.test")
    GcRun.objects.create(
        status=GcRun.Status.FINISHED, grace_seconds=86400, freed_by_vendor={str(vendor.pk): 4096}
    )
    page = new_page()
    sign_in(page, portal_url(live_registry, HOST, "/accounts/login/"), "admin@acme.test")
    page.goto(portal_url(live_registry, HOST, "/console/"))
    page.click("nav >> text=Lifecycle")
    assert axe_violations(page, axe_script) == []
    page.fill("#id_repository_pattern", "app/**")
    page.fill("#id_keep_newest", "5")
    page.click("text=Add rule")
    rule = RetentionRule.objects.get()
    assert rule.keep_newest == 5 and page.url.endswith(f"/console/lifecycle/rules/{rule.pk}/")
    assert "Would be deleted" in page.inner_text("main")
    assert axe_violations(page, axe_script) == []

    phone = new_page(width=375, height=812)
    sign_in(phone, portal_url(live_registry, HOST, "/accounts/login/"), "admin@acme.test")
    for path in ("/console/lifecycle/", f"/console/lifecycle/rules/{rule.pk}/"):
        phone.goto(portal_url(live_registry, HOST, path))
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"{path} is {width}px wide at a 375px viewport"
