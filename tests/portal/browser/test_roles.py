"""Roles in the browser: a viewer sees the console but no way to change it, and a
hand-made POST with a valid CSRF token is refused all the same."""

from customers.models import AccessToken, Customer
from customers.services import customer_create
from licensing.models import License
from tests.portal.browser.helpers import brand, portal_url, sign_in, staff

HOST = "portal.acme.test"

POST_WITH_CSRF = """async ([url, fields]) => {
  const token = document.querySelector('input[name=csrfmiddlewaretoken]').value;
  const body = new URLSearchParams({csrfmiddlewaretoken: token, ...fields});
  const response = await fetch(url, {method: 'POST', body, redirect: 'manual'});
  return response.status;
}"""


def test_a_viewer_sees_no_actions_and_cannot_post_them(live_registry, vendor, new_page):
    brand(vendor, HOST, display_name="Acme Software")
    staff(vendor, "viewer@acme.test", role="viewer")
    customer_create(vendor=vendor, slug="initech", name="Initech")

    page = new_page()
    sign_in(page, portal_url(live_registry, HOST, "/accounts/login/"), "viewer@acme.test")
    page.goto(portal_url(live_registry, HOST, "/console/customers/"))
    assert "Initech" in page.inner_text("main")
    assert page.locator("text=Create customer").count() == 0
    page.goto(portal_url(live_registry, HOST, "/console/customers/initech/"))
    assert page.locator("text=New license").count() == 0
    assert page.locator("text=Send invitation").count() == 0
    page.goto(portal_url(live_registry, HOST, "/console/tokens/"))
    assert page.locator("text=Create token").count() == 0
    assert page.locator("nav >> text=Branding").count() == 0

    # The logout form carries a CSRF token; use it to forge the hidden actions.
    statuses = {
        "customer": page.evaluate(
            POST_WITH_CSRF,
            ["/console/customers/", {"name": "Evil", "slug": "evil"}],
        ),
        "license": page.evaluate(
            POST_WITH_CSRF,
            [
                "/console/customers/initech/licenses/new",
                {"name": "Free", "valid_from": "2026-01-01"},
            ],
        ),
        "token": page.evaluate(
            POST_WITH_CSRF, ["/console/tokens/", {"name": "mine", "expires_in_days": "30"}]
        ),
    }
    assert statuses == {"customer": 403, "license": 403, "token": 403}
    assert not Customer.objects.filter(slug="evil").exists()
    assert not License.objects.exists()
    assert not AccessToken.objects.filter(name="mine").exists()
    assert "Your role does not allow this" in page.evaluate(
        "async () => (await fetch('/console/branding/')).text()"
    )
