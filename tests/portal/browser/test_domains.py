"""The console's domain section in Chromium at 1280 and 375 px: a pending domain shows
its TXT record and a "Verify now" button, a failed check says why, a verified one serves
the portal in the browser; axe-core passes in every state. Screenshots in screenshots/."""

import pytest
from django.test import override_settings

from portal.models import VendorDomain
from portal.services import domain_add, domain_verify
from tests.portal.browser.conftest import axe_violations, screenshot
from tests.portal.browser.helpers import brand, portal_url, sign_in, staff
from tests.support.dns_server import TxtDnsServer

HOST = "portal.acme.test"
NEW = "downloads.acme.test"


def _fits(page, width: int) -> None:
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"page is {scroll}px wide at a {width}px viewport"


@pytest.mark.parametrize("width", [1280, 375])
def test_domain_section_pending_then_verified(live_registry, vendor, new_page, axe_script, width):
    brand(vendor, HOST, display_name="Acme Software")
    staff(vendor, "admin@acme.test")
    pending = domain_add(vendor=vendor, host=NEW)
    other = domain_add(vendor=vendor, host="nowhere.acme.test")
    page = new_page(width=width, height=900)
    sign_in(page, portal_url(live_registry, HOST, "/accounts/login/"), "admin@acme.test")
    branding = portal_url(live_registry, HOST, "/console/branding/")
    page.goto(branding)

    card = page.locator(f"#domain-{pending.pk}")
    text = card.inner_text()
    assert "pending" in text and f"_distr-challenge.{NEW}" in text and pending.token in text
    assert card.locator("text=Verify now").is_visible()
    assert axe_violations(page, axe_script) == []
    _fits(page, width)
    screenshot(page, f"domains-pending-{width}")

    # The pending host is not served: the browser gets the gate's 400.
    probe = new_page(width=width)
    response = probe.goto(portal_url(live_registry, NEW, "/accounts/login/"))
    assert response.status == 400

    # "Verify now" with no record published (the server's own resolver): refused, reason
    # shown, still pending.
    page.locator(f"#domain-{other.pk} button", has_text="Verify now").click()
    page.wait_for_load_state()
    assert "nowhere.acme.test is not verified" in page.inner_text("main")
    assert axe_violations(page, axe_script) == []

    # The vendor publishes the record; a check (here in the test's process, as the beat
    # sweep or `verifydomains` would run it) verifies the domain.
    with TxtDnsServer() as dns, override_settings(DISTR_DNS_NAMESERVERS=[dns.address]):
        dns.txt[f"_distr-challenge.{NEW}"] = [pending.token]
        domain_verify(domain=VendorDomain.objects.get(pk=pending.pk))
    page.goto(branding)
    text = page.locator(f"#domain-{pending.pk}").inner_text()
    assert "verified" in text and pending.token not in text
    assert axe_violations(page, axe_script) == []
    _fits(page, width)
    screenshot(page, f"domains-verified-{width}")

    response = probe.goto(portal_url(live_registry, NEW, "/accounts/login/"))
    assert response.status == 200 and "Acme Software" in probe.title()
