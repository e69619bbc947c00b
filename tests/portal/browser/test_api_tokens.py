"""The console's API token page in Chromium: a vendor admin mints a scoped token, copies
it from the one page that shows it (sent with Cache-Control: no-store), the token reads
the API, the secret never shows again, and a revoke (after the confirmation page) refuses
it from the next call."""

import requests

from tests.portal.browser.conftest import axe_violations, screenshot
from tests.portal.browser.helpers import brand, portal_url, sign_in, staff

HOST = "portal.acme.test"


def test_admin_mints_copies_once_and_revokes_an_api_token(
    live_registry, vendor, new_page, axe_script
):
    brand(vendor, HOST, display_name="Acme Software")
    staff(vendor, "admin@acme.test", role="admin")
    api = f"{live_registry.url}/api/v1/analytics/customers/top"

    page = new_page()
    sign_in(page, portal_url(live_registry, HOST, "/accounts/login/"), "admin@acme.test")
    page.click("nav >> text=API tokens")
    assert page.inner_text("h1") == "API tokens"
    page.fill("#id_name", "CRM sync")
    assert page.is_checked("input[name=scopes][value=read]")  # the default
    page.check("input[name=scopes][value='customers:write']")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.click("text=Create API token")
    assert answer.value.status == 201
    assert answer.value.headers["cache-control"] == "no-store"

    secret = page.inner_text("#new-secret").strip()
    assert secret.startswith("distr_api_")
    assert "shown only once" in page.inner_text("main")
    assert axe_violations(page, axe_script) == []
    # Copy: the button copies exactly the secret (pasted back into a field to check).
    copy = page.locator("button.copy[data-copy=new-secret]")
    copy.click()
    assert copy.locator(".copy-state").inner_text() == "Copied"
    page.evaluate(
        "() => { const t = document.createElement('textarea'); t.id = 'paste';"
        " document.body.appendChild(t); t.focus(); }"
    )
    page.keyboard.press("Control+V")
    assert page.input_value("#paste").strip() == secret
    screenshot(page, "api-token-minted")

    headers = {"Authorization": f"Bearer {secret}"}
    assert requests.get(api, headers=headers, timeout=10).status_code == 200

    # Never again: not on a reload of the list, not on the back button's page.
    page.goto(portal_url(live_registry, HOST, "/console/api-tokens/"))
    assert secret not in page.content()
    row = page.locator("tr", has_text="CRM sync")
    assert "read, customers:write" in row.inner_text() and "active" in row.inner_text()
    page.go_back()
    assert secret not in page.content()
    page.goto(portal_url(live_registry, HOST, "/console/api-tokens/"))

    # Revoke: the server asks first, then the token is refused from the next call.
    page.click("button[aria-label='Revoke CRM sync']")
    assert page.inner_text("h1") == "Revoke API token “CRM sync”?"
    page.click("button:text('Revoke token')")
    assert "API token “CRM sync” revoked." in page.inner_text("main")
    assert "revoked" in page.locator("tr", has_text="CRM sync").inner_text()
    assert requests.get(api, headers=headers, timeout=10).status_code == 401
    assert secret not in page.content()
    screenshot(page, "api-token-revoked")
