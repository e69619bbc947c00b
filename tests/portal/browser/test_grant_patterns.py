"""The console's grant form with repository patterns, in Chromium at 1280 and 375 px: a
pattern previews `repository:tag`, is added, and a refused pattern comes back with what
was typed and the reason; axe-core passes on each page state."""

import pytest

from customers.services import customer_create
from licensing.models import License, LicenseGrant
from licensing.services import license_create
from tests.portal.browser.conftest import axe_violations, screenshot
from tests.portal.browser.helpers import brand, portal_url, push_image, sign_in, staff

HOST = "portal.acme.test"


@pytest.mark.parametrize("width", [1280, 375])
def test_grant_form_with_a_pattern(
    live_registry, vendor, repo_name, tmp_path, new_page, axe_script, width
):
    brand(vendor, HOST, display_name="Acme Software", primary_color="#b42318")
    staff(vendor, "admin@acme.test")
    initech = customer_create(vendor=vendor, slug="initech", name="Initech")[0]
    license = license_create(vendor=vendor, customer=initech, name="Everything")
    push_image(live_registry, repo_name, tmp_path, "1.1")
    page = new_page(width=width, height=900)
    sign_in(page, portal_url(live_registry, HOST, "/accounts/login/"), "admin@acme.test")
    page.goto(portal_url(live_registry, HOST, f"/console/licenses/{license.pk}/"))

    page.fill("#id_repository", "acme/*")
    page.select_option("#id_rule", "glob")
    page.fill("#id_pattern", "1.*")
    preview = page.locator("#grant-preview")
    preview.locator("text=1 tag").wait_for()
    assert f"{repo_name}:1.1" in preview.inner_text()
    assert axe_violations(page, axe_script) == []
    page.click("text=Add grant")
    page.wait_for_load_state()
    assert "Grant added." in page.inner_text("main")
    assert page.locator("td >> code", has_text=f"{repo_name}:1.1").count() == 1
    assert LicenseGrant.objects.get(license=license).repository_name == "acme/*"

    page.fill("#id_repository", "umbrella/charts/*")
    page.select_option("#id_rule", "semver")
    page.fill("#id_pattern", ">=2,<3")
    page.click("text=Add grant")
    page.wait_for_load_state()
    assert page.input_value("#id_repository") == "umbrella/charts/*"
    assert page.input_value("#id_pattern") == ">=2,<3"
    assert page.input_value("#id_rule") == "semver"
    assert (
        "a grant names repositories inside acme/ (e.g. acme/app or acme/charts/*)"
        in page.inner_text("#grant-form")
    )
    assert axe_violations(page, axe_script) == []
    if width == 375:
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        for control in ("#id_repository", "#id_rule", "#id_pattern", "text=Add grant"):
            box = page.locator(control).bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375
    screenshot(page, f"grant-pattern-refused-{width}")
    assert License.objects.get(pk=license.pk).grants.count() == 1
