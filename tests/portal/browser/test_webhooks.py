"""The console's webhook pages in Chromium: an admin creates an endpoint and copies the
secret from the one page that shows it (never cached, never shown again); the pages pass
axe-core and fit a 375 px screen with a delivery log of several attempts."""

import datetime

from django.utils import timezone

from tests.portal.browser.conftest import axe_violations, screenshot
from tests.portal.browser.helpers import brand, portal_url, sign_in, staff
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

HOST = "portal.acme.test"


def _log(endpoint: WebhookEndpoint) -> None:
    now = timezone.now()
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event_id="msg_0123456789abcdef0123456789abcdef",
        event_type="artifact.pushed",
        payload={
            "type": "dev.distr.artifact.pushed",
            "subject": "acme/app@sha256:" + "ab" * 32,
            "data": {"repository": "acme/app", "digest": "sha256:" + "ab" * 32},
        },
        state="delivered",
        attempts=3,
        delivered_at=now,
    )
    for number, status, error in (
        (1, 500, "HTTP 500"),
        (2, None, "timed out after 10 s"),
        (3, 200, ""),
    ):
        WebhookAttempt.objects.create(
            delivery=delivery,
            number=number,
            started_at=now - datetime.timedelta(minutes=10 - number),
            finished_at=now,
            status_code=status,
            latency_ms=42 * number,
            error=error,
        )


def test_create_copy_once_and_read_the_log(live_registry, vendor, new_page, axe_script):
    brand(vendor, HOST, display_name="Acme Software")
    staff(vendor, "admin@acme.test")
    page = new_page()
    sign_in(page, portal_url(live_registry, HOST, "/accounts/login/"), "admin@acme.test")
    page.goto(portal_url(live_registry, HOST, "/console/"))
    page.click("nav >> text=Webhooks")
    page.fill("#id_url", "https://hooks.example.com/distr")
    page.check("text=artifact.pushed")
    page.check("text=license.expiring")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.click("text=Create webhook")
    assert answer.value.headers["cache-control"] == "no-store"
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.event_types == ["artifact.pushed", "license.expiring"]
    assert endpoint.secret in page.inner_text("#new-secret")
    assert axe_violations(page, axe_script) == []  # the page showing the secret
    page.goto(portal_url(live_registry, HOST, "/console/webhooks/"))
    assert endpoint.secret not in page.content()

    _log(endpoint)
    detail = portal_url(live_registry, HOST, f"/console/webhooks/{endpoint.pk}/")
    page.goto(detail)
    text = page.inner_text("main")
    assert "HTTP 500" in text and "timed out" in text and "HTTP 200" in text and "126 ms" in text
    assert endpoint.secret not in page.content()
    assert axe_violations(page, axe_script) == []

    phone = new_page(width=375, height=812)
    sign_in(phone, portal_url(live_registry, HOST, "/accounts/login/"), "admin@acme.test")
    for path in ("/console/webhooks/", f"/console/webhooks/{endpoint.pk}/"):
        phone.goto(portal_url(live_registry, HOST, path))
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"{path} is {width}px wide at a 375px viewport"
    assert phone.locator("text=Redeliver").first.is_visible()
    phone.click("text=Payload")  # the event as sent, wrapped to the screen
    assert "dev.distr.artifact.pushed" in phone.inner_text("main")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(phone, "webhook-log-375")
