"""The issue's end-to-end journey in Chromium, with skopeo as the customer's machine:
a vendor admin creates a customer, a license for app:1.* and invites a user; the user
accepts the emailed invitation, sets a password, signs in on the vendor's host, sees only
1.x, mints a token that skopeo pulls 1.1 with (and is refused 2.0), then revokes it in the
browser and skopeo's next pull fails."""

import time

import pytest

from tests.portal.browser.conftest import screenshot
from tests.portal.browser.helpers import (
    PASSWORD,
    brand,
    link_in,
    portal_url,
    pull_image,
    push_image,
    sign_in,
    staff,
)

HOST = "portal.acme.test"


def test_vendor_invites_customer_who_pulls_with_a_self_minted_token(
    live_registry, vendor, repo_name, tmp_path, new_page, mailbox
):
    brand(vendor, HOST, display_name="Acme Software", primary_color="#b42318")
    staff(vendor, "admin@acme.test", role="admin")
    one_one = push_image(live_registry, repo_name, tmp_path, "1.1")
    push_image(live_registry, repo_name, tmp_path, "2.0", sizes=(500,))

    # Vendor admin: customer, license with a grant previewed live, invitation.
    admin = new_page()
    sign_in(admin, portal_url(live_registry, HOST, "/accounts/login/"), "admin@acme.test")
    assert admin.url.endswith("/console/")
    admin.click("nav >> text=Customers")
    admin.fill("#id_name", "Initech")
    admin.fill("#id_slug", "initech")
    admin.click("text=Create customer")
    assert admin.url.endswith("/console/customers/initech/")
    admin.click("summary:has-text('New license')")
    admin.fill("#license_name", "Initech support 1.x")
    admin.click("text=Create license")
    assert "/console/licenses/" in admin.url

    admin.fill("#id_repository", repo_name)
    admin.select_option("#id_rule", "glob")
    admin.fill("#id_pattern", "1.*")
    preview = admin.locator("#grant-preview")
    preview.locator("text=1 tag").wait_for()
    assert "1.1" in preview.inner_text() and "2.0" not in preview.inner_text()
    admin.click("text=Add grant")
    assert admin.locator("td >> code", has_text="1.1").count() == 1
    admin.goto(portal_url(live_registry, HOST, "/console/customers/initech/"))
    admin.fill("#invite_email", "ops@initech.test")
    admin.select_option("#invite_role", "admin")
    admin.click("text=Send invitation")
    assert "Invitation sent to ops@initech.test" in admin.content()

    # The invitation email, in Acme's name, with a link to Acme's host.
    (message,) = mailbox.messages()
    assert message["To"] == "ops@initech.test"
    assert "Acme Software" in message["Subject"] and "Acme Software" in message["From"]
    link = link_in(message)
    assert link.startswith(f"http://{HOST}:{live_registry.port}/invite/")

    # The customer user accepts, chooses a password, then signs in afresh.
    user = new_page()
    user.goto(link)
    assert "/accounts/signup/" in user.url
    user.fill("input[name=email]", "ops@initech.test")
    user.fill("input[name=password1]", PASSWORD)
    user.fill("input[name=password2]", PASSWORD)
    user.click("form button[type=submit]")
    user.wait_for_load_state()
    assert user.url.endswith("/overview/"), user.content()[:2000]
    assert "Initech" in user.inner_text("h1")
    user.click("text=Sign out")
    sign_in(user, portal_url(live_registry, HOST, "/accounts/login/"), "ops@initech.test")
    assert user.url.endswith("/overview/"), user.inner_text("main")
    assert "Acme Software" in user.title() and "distr" not in user.content().lower()

    # Only 1.x is listed, with a pull command naming the image.
    user.click("nav >> text=Artifacts")
    page_text = user.inner_text("main")
    assert "1.1" in page_text and "2.0" not in page_text
    assert one_one.top_digest in page_text
    assert f"{repo_name}:1.1" in page_text

    # Mint a token: shown once, then fed to skopeo.
    user.click("nav >> text=Tokens")
    user.fill("#id_name", "build server")
    user.click("text=Create token")
    secret = user.inner_text("#new-secret").strip()
    assert secret.startswith("distr_pull_")
    user.goto(portal_url(live_registry, HOST, "/tokens/"))
    assert secret not in user.content()

    creds = f"initech:{secret}"
    pull_image(live_registry, repo_name, "1.1", creds, tmp_path / "pulled")
    with pytest.raises(AssertionError, match="not covered by your license"):
        pull_image(live_registry, repo_name, "2.0", creds, tmp_path / "denied")

    # Revoke in the browser: skopeo is refused (within the principal cache's 2 s).
    user.click("button[aria-label='Revoke build server']")
    # The server asks first (no JavaScript needed); cancelling would change nothing.
    assert user.inner_text("h1") == "Revoke token “build server”?"
    screenshot(user, "journey-revoke-confirm")
    user.click("button:text('Revoke token')")
    assert "revoked" in user.inner_text("main").lower()
    deadline = time.monotonic() + 10
    while True:
        try:
            pull_image(live_registry, repo_name, "1.1", creds, tmp_path / f"again{time.time()}")
        except AssertionError as refused:
            assert "unauthorized" in str(refused).lower() or "401" in str(refused)
            break
        assert time.monotonic() < deadline, "a revoked token still pulls after 10 s"
        time.sleep(0.5)
    screenshot(user, "journey-tokens-after-revoke")
