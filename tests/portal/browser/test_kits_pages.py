"""The Kits pages in a real browser: a customer previews, builds and sees a kit, staff see
it in the console; both pass axe-core (WCAG 2.1 A/AA) at desktop and phone widths, and
nothing is wider than a 375 px screen."""

import pytest

from customers.services import customer_create
from tests.conftest import license_grant
from tests.portal.browser.conftest import axe_violations, screenshot
from tests.portal.browser.helpers import (
    brand,
    customer_user,
    portal_url,
    push_image,
    sign_in,
    staff,
)

HOST = "portal.acme.test"


@pytest.fixture
def kit_content(live_registry, vendor, repo_name, tmp_path):
    brand(vendor, HOST, display_name="Acme Software", primary_color="#f5c518")
    staff(vendor, "admin@acme.test")
    initech = customer_create(vendor=vendor, slug="initech", name="Initech")[0]
    customer_user(initech, "ops@initech.test")
    push_image(live_registry, repo_name, tmp_path, "1.1")
    license_grant(initech, repo_name, "glob:1.*", name="Initech 1.x")
    return repo_name


def _fits(page, width):
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"page is {scroll}px wide at a {width}px viewport"


@pytest.mark.parametrize("width", [1280, 375])
def test_kits_pages_pass_axe(live_registry, kit_content, new_page, axe_script, width):
    page = new_page(width=width, height=900)
    login = portal_url(live_registry, HOST, "/accounts/login/")
    sign_in(page, login, "ops@initech.test")
    page.goto(portal_url(live_registry, HOST, "/kits/"))
    assert axe_violations(page, axe_script) == []
    page.click("text=Show size")
    assert page.locator("[role=status]").inner_text().startswith("This kit would hold 1 image")
    assert axe_violations(page, axe_script) == []
    page.click("text=Build kit")
    assert "is ready to download" in page.locator("main").inner_text()
    assert page.locator("a[download]").count() == 1
    assert axe_violations(page, axe_script) == []
    _fits(page, width)
    screenshot(page, f"kits-{width}")

    admin = new_page(width=width, height=900)
    sign_in(admin, login, "admin@acme.test")
    admin.goto(portal_url(live_registry, HOST, "/console/kits/"))
    assert "Initech" in admin.locator("main").inner_text()
    assert axe_violations(admin, axe_script) == []
    _fits(admin, width)
