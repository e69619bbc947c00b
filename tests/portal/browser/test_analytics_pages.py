"""The analytics pages in Debian's Chromium: charts render as SVG, axe-core finds no
WCAG A/AA violation, and the dashboard fits a 375 px screen. Screenshots in screenshots/."""

from tests.analytics.conftest import embedded_mode, history, other_customer  # noqa: F401
from tests.portal.browser.conftest import axe_violations, screenshot
from tests.portal.browser.helpers import brand, customer_user, portal_url, sign_in, staff

HOST = "portal.acme.test"


def test_dashboard_and_history_render_with_charts(
    live_registry,
    embedded_mode,  # noqa: F811 - the fixture imported above
    history,  # noqa: F811
    vendor,
    new_page,
    axe_script,
):
    brand(vendor, HOST, display_name="Acme Software", primary_color="#0e7490")
    staff(vendor, "admin@acme.test")
    customer_user(history["initech"], "ops@initech.test")

    admin = new_page()
    sign_in(admin, portal_url(live_registry, HOST, "/accounts/login/"), "admin@acme.test")
    admin.goto(portal_url(live_registry, HOST, "/console/analytics/?days=90"))
    charts = admin.locator(".chart svg[role=img]")
    assert charts.count() == 2
    assert charts.first.bounding_box()["height"] > 100
    assert "Pulls per day" in charts.first.get_attribute("aria-label")
    assert admin.locator("text=1 behind").count() == 1
    assert axe_violations(admin, axe_script) == []
    screenshot(admin, "analytics-dashboard")

    admin.click("table >> text=Initech")
    assert "/console/analytics/customers/initech/" in admin.url
    assert "3 pulls" in admin.inner_text("main")
    assert axe_violations(admin, axe_script) == []

    narrow = new_page(width=375, height=812)
    sign_in(narrow, portal_url(live_registry, HOST, "/accounts/login/"), "admin@acme.test")
    narrow.goto(portal_url(live_registry, HOST, "/console/analytics/?days=90"))
    assert narrow.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(narrow, "analytics-dashboard-375")

    customer = new_page()
    sign_in(customer, portal_url(live_registry, HOST, "/accounts/login/"), "ops@initech.test")
    customer.goto(portal_url(live_registry, HOST, "/history/?days=90"))
    assert customer.locator(".chart svg[role=img]").count() == 1
    assert "3 pulls by Initech" in customer.inner_text("main")
    assert axe_violations(customer, axe_script) == []
    screenshot(customer, "customer-pull-history")
