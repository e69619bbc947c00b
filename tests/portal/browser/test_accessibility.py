"""The main portal pages pass axe-core's WCAG 2.1 A/AA rules, and the two densest pages
(customer artifacts, license editor) work at 375 px: nothing wider than the screen,
every control reachable. Screenshots go to screenshots/ (git-ignored)."""

import pytest

from customers.services import customer_create
from licensing.models import License
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
from tests.support.oci_layout import index_layout
from tests.support.skopeo import skopeo

HOST = "portal.acme.test"

CUSTOMER_PAGES = ["/overview/", "/artifacts/", "/tokens/", "/team/"]
CONSOLE_PAGES = [
    "/console/",
    "/console/customers/",
    "/console/customers/initech/",
    "/console/licenses/{license}/",
    "/console/repositories/",
    "/console/repositories/{repo}/",
    "/console/tokens/",
    "/console/storage/",
    "/console/immutable-tags/",
    "/console/branding/",
    "/console/staff/",
    "/console/audit/",
]


@pytest.fixture
def portal_content(live_registry, vendor, repo_name, tmp_path):
    brand(vendor, HOST, display_name="Acme Software", primary_color="#f5c518")  # light yellow
    staff(vendor, "admin@acme.test")
    initech = customer_create(vendor=vendor, slug="initech", name="Initech")[0]
    customer_user(initech, "ops@initech.test")
    push_image(live_registry, repo_name, tmp_path, "1.1")
    layout = index_layout(tmp_path / "index", [200, 300], tag="1.2")
    skopeo(
        "copy",
        "--all",
        "--preserve-digests",
        "--dest-tls-verify=false",
        layout.ref,
        f"docker://{live_registry.host}/{repo_name}:1.2",
    )
    license_grant(initech, repo_name, "glob:1.*", name="Initech 1.x")
    return {"repo": repo_name, "license": License.objects.get(name="Initech 1.x").pk}


def _check(page, url, axe_script):
    page.goto(url)
    assert page.locator("main h1").count() >= 1, url
    violations = axe_violations(page, axe_script)
    assert violations == [], f"{url}: {violations}"


def test_customer_pages_pass_axe(live_registry, portal_content, new_page, axe_script):
    page = new_page()
    login = portal_url(live_registry, HOST, "/accounts/login/")
    page.goto(login)
    assert axe_violations(page, axe_script) == []
    sign_in(page, login, "ops@initech.test")
    for path in CUSTOMER_PAGES:
        _check(page, portal_url(live_registry, HOST, path), axe_script)
    page.goto(portal_url(live_registry, HOST, "/tokens/"))
    page.fill("#id_name", "laptop")
    page.click("text=Create token")
    assert axe_violations(page, axe_script) == []  # the page showing the new secret


def test_console_pages_pass_axe(live_registry, portal_content, new_page, axe_script):
    page = new_page()
    sign_in(page, portal_url(live_registry, HOST, "/accounts/login/"), "admin@acme.test")
    for path in CONSOLE_PAGES:
        _check(page, portal_url(live_registry, HOST, path.format(**portal_content)), axe_script)
    page.goto(portal_url(live_registry, HOST, "/no/such/page/"))
    assert "Page not found" in page.inner_text("main") and "Acme Software" in page.title()
    assert axe_violations(page, axe_script) == []


def _fits(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"page is {width}px wide at a 375px viewport"


def test_artifacts_and_license_editor_at_375px(live_registry, portal_content, new_page):
    customer = new_page(width=375, height=812)
    sign_in(customer, portal_url(live_registry, HOST, "/accounts/login/"), "ops@initech.test")
    customer.goto(portal_url(live_registry, HOST, "/artifacts/"))
    text = customer.inner_text("main")
    assert "1.2" in text and "linux/amd64, linux/arm64" in text and "multi-platform" in text
    copy = customer.locator("button.copy").first
    assert copy.is_visible()  # shown by the script, hidden without JavaScript
    _fits(customer)
    screenshot(customer, "artifacts-375")

    admin = new_page(width=375, height=812)
    sign_in(admin, portal_url(live_registry, HOST, "/accounts/login/"), "admin@acme.test")
    admin.goto(portal_url(live_registry, HOST, f"/console/licenses/{portal_content['license']}/"))
    admin.fill("#id_pattern", "1.*")
    admin.locator("#grant-preview >> text=2 tags").wait_for()
    _fits(admin)
    for control in ("#id_repository", "#id_rule", "#id_pattern", "text=Add grant"):
        box = admin.locator(control).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375, control
    screenshot(admin, "license-editor-375")


def test_storage_and_immutable_tags_at_375px(live_registry, portal_content, new_page, axe_script):
    admin = new_page(width=375, height=812)
    sign_in(admin, portal_url(live_registry, HOST, "/accounts/login/"), "admin@acme.test")
    admin.goto(portal_url(live_registry, HOST, "/console/immutable-tags/"))
    admin.fill("#id_repository_pattern", "**")
    admin.fill("#id_tag_rule", "semver:>=0")
    admin.click("text=Add rule")
    assert "semver:>=0" in admin.inner_text("main")
    _fits(admin)
    assert axe_violations(admin, axe_script) == []  # with the rule listed
    admin.goto(portal_url(live_registry, HOST, "/console/storage/"))
    assert portal_content["repo"] in admin.inner_text("main")
    _fits(admin)
    screenshot(admin, "storage-375")


def test_pages_work_without_javascript(live_registry, portal_content, browser):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    sign_in(page, portal_url(live_registry, HOST, "/accounts/login/"), "admin@acme.test")
    page.goto(portal_url(live_registry, HOST, f"/console/licenses/{portal_content['license']}/"))
    page.fill("#id_repository", portal_content["repo"])
    page.fill("#id_pattern", "1.1")
    page.select_option("#id_rule", "exact")
    page.click("button:has-text('Preview')")  # the no-JS fallback of the live preview
    assert "1 tag" in page.inner_text("main")
    context.close()


def test_pages_run_under_the_content_security_policy(live_registry, portal_content, new_page):
    """With the CSP enforced: the brand's theme, the stylesheet and the script all load from
    the portal itself, and Chromium reports no violation."""
    page = new_page(bypass_csp=False)
    violations = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    sign_in(page, portal_url(live_registry, HOST, "/accounts/login/"), "admin@acme.test")
    response = page.goto(portal_url(live_registry, HOST, "/console/branding/"))
    assert "script-src 'self'" in response.headers["content-security-policy"]
    # The theme stylesheet applied the vendor's (pale yellow) colour to the top bar.
    assert page.eval_on_selector(".topbar", "e => getComputedStyle(e).backgroundColor") == (
        "rgb(245, 197, 24)"
    )
    page.goto(portal_url(live_registry, HOST, f"/console/licenses/{portal_content['license']}/"))
    page.fill("#id_pattern", "1.*")
    page.locator("#grant-preview >> text=2 tags").wait_for()  # portal.js ran
    page.goto(portal_url(live_registry, HOST, "/accounts/2fa/"))
    assert violations == []


@pytest.mark.parametrize("width", [1280, 375])
def test_destructive_actions_ask_first_without_javascript(
    live_registry, portal_content, browser, axe_script, width
):
    """Suspend customer, suspend license and delete tag each open a confirmation page
    (no JavaScript needed) that passes axe, fits the screen, and changes nothing until
    its button is pressed."""
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": width, "height": 900}
    )
    page = context.new_page()
    sign_in(page, portal_url(live_registry, HOST, "/accounts/login/"), "admin@acme.test")
    page.goto(portal_url(live_registry, HOST, "/console/customers/initech/"))
    page.click("button:has-text('Suspend')")
    assert page.inner_text("main h1") == "Suspend Initech?"
    assert width > 375 or page.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(page, f"confirm-suspend-{width}")
    page.click("a:has-text('Cancel')")
    assert "suspended" not in page.inner_text("main").lower()
    page.goto(portal_url(live_registry, HOST, f"/console/licenses/{portal_content['license']}/"))
    page.click("button:has-text('Suspend')")
    assert page.inner_text("main h1") == "Suspend license “Initech 1.x”?"
    page.click("button:has-text('Suspend license')")
    assert "License suspended." in page.inner_text("main")
    page.goto(portal_url(live_registry, HOST, f"/console/repositories/{portal_content['repo']}/"))
    page.click("button[aria-label='Delete tag 1.1']")
    assert page.inner_text("main h1") == f"Delete tag 1.1 of {portal_content['repo']}?"
    context.close()
    # axe needs its script: the same page, with JavaScript, for the check.
    checked = browser.new_context(
        bypass_csp=True, viewport={"width": width, "height": 900}
    ).new_page()
    sign_in(checked, portal_url(live_registry, HOST, "/accounts/login/"), "admin@acme.test")
    checked.goto(portal_url(live_registry, HOST, "/console/customers/initech/"))
    checked.click("button:has-text('Suspend')")
    assert axe_violations(checked, axe_script) == []
    checked.context.close()


def test_audit_log_reads_at_375px(live_registry, portal_content, new_page, axe_script):
    """One card per event on a phone: nothing wider than the screen, every field labelled;
    the signing-in itself is the first event, by email and address."""
    page = new_page(width=375, height=812)
    sign_in(page, portal_url(live_registry, HOST, "/accounts/login/"), "admin@acme.test")
    page.goto(portal_url(live_registry, HOST, "/console/audit/"))
    _fits(page)
    first = page.locator(".table-wrap.stack tbody tr").first
    assert "admin@acme.test" in first.inner_text()
    assert first.locator("td[data-label='From']").inner_text() == "127.0.0.1"
    assert axe_violations(page, axe_script) == []
    screenshot(page, "audit-375")
