"""Issue 12, items 11 and 12 in real Chromium at 1280 and 375 px, axe-core on every page
touched: nothing wider than the screen, table actions on screen, the copy button's hidden
label stays hidden, a closed tag shows it can open, staff revoke a customer's token,
logo and favicon previews with Remove, and the invitation link when no mail is set up."""

import pytest

from customers.models import AccessToken
from customers.services import customer_create, token_mint
from licensing.models import License
from portal.models import Branding
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
from tests.support.server import LiveRegistry

HOST = "portal.acme.test"
WIDTHS = (1280, 375)
PNG_1PX = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cf00000301010018dd8db00000000049454e44ae426082"
)


@pytest.fixture
def content(live_registry, vendor, repo_name, tmp_path):
    brand(vendor, HOST, display_name="Acme Software", primary_color="#b42318")
    Branding.objects.filter(vendor=vendor).update(
        logo=PNG_1PX, logo_type="image/png", favicon=PNG_1PX, favicon_type="image/png"
    )
    staff(vendor, "admin@acme.test")
    initech = customer_create(vendor=vendor, slug="initech", name="Initech")[0]
    ops = customer_user(initech, "ops@initech.test")
    push_image(live_registry, repo_name, tmp_path, "1.1")
    push_image(live_registry, repo_name, tmp_path, "1.2", sizes=(400,))
    license_grant(initech, repo_name, "glob:1.*", name="Initech 1.x")
    token = token_mint(
        vendor=vendor,
        customer=initech,
        kind="pull",
        name="production-cluster-eu-west-1",
        created_by=ops,
    ).token
    return {
        "repo": repo_name,
        "license": License.objects.get(name="Initech 1.x").pk,
        "token": token,
    }


def fits(page, width: int, name: str) -> None:
    scroll = page.evaluate("document.documentElement.scrollWidth")
    inner = page.evaluate("window.innerWidth")
    assert scroll <= inner, f"{name}: {scroll}px wide at a {width}px viewport"


def on_screen(page, locator, width: int, what: str) -> None:
    assert locator.is_visible(), what
    box = locator.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, (what, box)


def check(page, width: int, name: str, axe_script) -> None:
    fits(page, width, name)
    assert axe_violations(page, axe_script) == [], name
    screenshot(page, f"rough-edges-{name}-{width}")


@pytest.mark.parametrize("width", WIDTHS)
def test_console_pages_fit_and_show_their_actions(
    live_registry, content, new_page, axe_script, width
):
    page = new_page(width=width, height=900)
    sign_in(page, portal_url(live_registry, HOST, "/accounts/login/"), "admin@acme.test")

    page.goto(portal_url(live_registry, HOST, "/console/"))
    assert "@sha256:" in page.inner_text("main") or content["repo"] in page.inner_text("main")
    check(page, width, "console-home", axe_script)

    page.goto(portal_url(live_registry, HOST, "/console/customers/initech/"))
    row = page.locator("tr", has_text="production-cluster-eu-west-1")
    on_screen(page, row.locator(".badge", has_text="active"), width, "token status")
    on_screen(page, row.locator("button", has_text="Revoke"), width, "token revoke")
    assert page.locator("[id=id_name]").count() == 1 and page.locator("#license_name").count() == 1
    check(page, width, "console-customer", axe_script)

    page.goto(portal_url(live_registry, HOST, f"/console/licenses/{content['license']}/"))
    on_screen(page, page.locator("table button", has_text="Remove").first, width, "grant remove")
    check(page, width, "console-license", axe_script)

    page.goto(portal_url(live_registry, HOST, "/console/branding/"))
    logo = page.locator("img[alt='Current logo']")
    on_screen(page, logo, width, "logo preview")
    assert page.evaluate("document.querySelector(\"img[alt='Current logo']\").naturalWidth") == 1
    on_screen(page, page.locator("button", has_text="Remove favicon"), width, "remove favicon")
    check(page, width, "console-branding", axe_script)


def test_staff_revoke_a_customer_token_and_remove_the_logo(live_registry, content, new_page):
    page = new_page(width=375, height=812)
    sign_in(page, portal_url(live_registry, HOST, "/accounts/login/"), "admin@acme.test")
    page.goto(portal_url(live_registry, HOST, "/console/customers/initech/"))
    page.locator("tr", has_text="production-cluster-eu-west-1").locator("text=Revoke").click()
    assert "Revoke token “production-cluster-eu-west-1” of Initech?" in page.inner_text("h1")
    assert AccessToken.objects.get(pk=content["token"].pk).revoked_at is None
    page.click("main form button[type=submit]")
    assert page.url.endswith("/console/customers/initech/#pull-tokens")
    assert "revoked" in page.locator("tr", has_text="production-cluster").inner_text()
    assert AccessToken.objects.get(pk=content["token"].pk).revoked_at is not None

    page.goto(portal_url(live_registry, HOST, "/console/branding/"))
    page.click("text=Remove logo")
    assert "Logo removed." in page.inner_text("main")
    assert page.locator("img[alt='Current logo']").count() == 0
    assert page.locator("header .brand-name", has_text="Acme Software").is_visible()


@pytest.mark.parametrize("width", WIDTHS)
def test_customer_pages_fit_show_actions_markers_and_keep_labels_hidden(
    live_registry, content, new_page, axe_script, width
):
    page = new_page(width=width, height=900)
    sign_in(page, portal_url(live_registry, HOST, "/accounts/login/"), "ops@initech.test")

    page.goto(portal_url(live_registry, HOST, "/tokens/"))
    row = page.locator("tr", has_text="production-cluster-eu-west-1")
    on_screen(page, row.locator(".badge", has_text="active"), width, "token status")
    on_screen(page, row.locator("button", has_text="Revoke"), width, "token revoke")
    check(page, width, "tokens", axe_script)

    page.goto(portal_url(live_registry, HOST, "/artifacts/"))
    # The older tag is closed, and says it opens: a marker and a "Show commands" hint.
    closed = page.locator("details.tag:not([open]) > summary").first
    marker = closed.evaluate("s => getComputedStyle(s, '::before').content")
    assert marker not in ("none", "normal", ""), marker
    on_screen(page, closed.locator("text=Show commands"), width, "show commands hint")
    closed.click()
    assert page.locator("details.tag[open]").count() == 2

    # Copy: only "Copy" changes to "Copied" and back; the hidden label stays hidden.
    button = page.locator("button.copy").first
    before = button.bounding_box()
    button.click()
    assert button.locator(".copy-state").inner_text() == "Copied"
    page.wait_for_timeout(1800)
    assert button.locator(".copy-state").inner_text() == "Copy"
    after = button.bounding_box()
    assert after["width"] == before["width"], (before, after)
    hidden = button.locator(".visually-hidden").bounding_box()
    assert hidden is not None and hidden["width"] <= 1 and hidden["height"] <= 1
    check(page, width, "artifacts", axe_script)


@pytest.mark.parametrize("width", WIDTHS)
def test_sign_in_and_invited_sign_up_pages(live_registry, content, new_page, axe_script, width):
    page = new_page(width=width, height=900)
    page.goto(portal_url(live_registry, HOST, "/accounts/login/"))
    text = page.inner_text("main")
    assert "sign up" not in text.lower() and "Accounts are by invitation" in text
    check(page, width, "sign-in", axe_script)
    # What the browser fetches by itself: the vendor's favicon here, distr's elsewhere.
    icon = page.goto(portal_url(live_registry, HOST, "/favicon.ico"))
    assert icon.status == 200 and icon.headers["content-type"] == "image/png"
    default = page.goto(f"{live_registry.url}/favicon.ico")
    assert default.status == 200 and default.headers["content-type"] == "image/x-icon"


@pytest.fixture(scope="module")
def no_mail_server(live_registry):
    """A second server, sharing the database, with no mail configured (the console
    backend, distr's embedded default)."""
    server = LiveRegistry(extra_env={"EMAIL_URL": "consolemail://"})
    yield server
    server.stop()


@pytest.mark.parametrize("width", WIDTHS)
def test_invitation_without_mail_gives_the_link(
    live_registry, no_mail_server, vendor, new_page, axe_script, width
):
    brand(vendor, HOST, display_name="Acme Software")
    staff(vendor, f"admin{width}@acme.test")
    customer_create(vendor=vendor, slug="initech", name="Initech")
    page = new_page(width=width, height=900)
    sign_in(page, portal_url(no_mail_server, HOST, "/accounts/login/"), f"admin{width}@acme.test")
    page.goto(portal_url(no_mail_server, HOST, "/console/customers/initech/"))
    page.fill("#invite_email", f"new{width}@initech.test")
    page.click("text=Send invitation")
    assert page.inner_text("h1") == "Invitation created"
    assert "Mail is not configured: copy this link" in page.inner_text("main")
    link = page.inner_text("#invitation-link").strip()
    assert link.startswith(f"http://{HOST}:{no_mail_server.port}/invite/"), link
    check(page, width, "invitation-link", axe_script)

    # The invitee opens it: a sign-up page that says who invited them to what.
    invitee = new_page(width=width, height=900)
    invitee.goto(link)
    assert "/accounts/signup/" in invitee.url
    assert invitee.inner_text("main h1") == "Join Acme Software"
    assert "to the Initech team on the Acme Software portal" in invitee.inner_text("main")
    check(invitee, width, "invited-sign-up", axe_script)
