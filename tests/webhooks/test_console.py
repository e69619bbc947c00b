"""The console's webhook pages: admins only (viewers and maintainers 403, another
vendor's webhooks 404), the secret shown once and never cached, every change audited,
confirmation before rotate and delete, test event and redeliver, and the delivery log
showing each attempt."""

import re

import pytest

from customers.models import AuditEvent
from tests.portal.conftest import post_mint, sign_in
from tests.webhooks.receiver import Reply
from webhooks.delivery import delivery_attempt
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from webhooks.services import endpoint_create

pytestmark = pytest.mark.django_db
BASE = "/p/acme/console/webhooks/"


@pytest.fixture
def admin(acme, acme_admin):
    return sign_in(acme_admin, acme)


def _create(c, receiver, events=("customer.created", "tag.moved")):
    return post_mint(c, BASE, {"url": receiver.url, "event_types": list(events)})


def test_an_admin_creates_a_webhook_and_sees_the_secret_once(admin, acme, receiver):
    response = _create(admin, receiver)
    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret in response.content.decode()
    assert endpoint.event_types == ["customer.created", "tag.moved"]
    # Never again: not on the list, not on the endpoint's page.
    for path in (BASE, f"{BASE}{endpoint.pk}/"):
        page = admin.get(path)
        assert page.status_code == 200 and page["Cache-Control"] == "no-store"
        assert endpoint.secret not in page.content.decode()
    audit = AuditEvent.objects.get(action="webhook.created")
    assert audit.target == f"webhook:{endpoint.pk}" and endpoint.secret not in str(audit.details)


def test_a_resubmitted_form_creates_nothing_twice(admin, receiver):
    page = admin.get(BASE).content.decode()
    nonce = re.search(r'name="mint_nonce" value="([^"]*)"', page).group(1)
    data = {"url": receiver.url, "event_types": ["tag.moved"], "mint_nonce": nonce}
    assert admin.post(BASE, data).status_code == 201
    again = admin.post(BASE, data)
    assert again.status_code == 409 and WebhookEndpoint.objects.count() == 1


@pytest.mark.parametrize(
    "url", ["ftp://example.com/x", "https://user:pw@example.com/x", "javascript:alert(1)"]
)
def test_bad_urls_are_refused(admin, url):
    response = post_mint(admin, BASE, {"url": url, "event_types": ["tag.moved"]})
    assert response.status_code == 400 and WebhookEndpoint.objects.count() == 0


def test_rotate_asks_first_then_shows_the_new_secret_once(admin, acme, receiver):
    endpoint = endpoint_create(vendor=acme, url=receiver.url, event_types=["tag.moved"]).endpoint
    old = endpoint.secret
    ask = admin.post(f"{BASE}{endpoint.pk}/rotate")
    assert b"Rotate secret" in ask.content
    endpoint.refresh_from_db()
    assert endpoint.secret == old  # asking changes nothing
    done = admin.post(f"{BASE}{endpoint.pk}/rotate", {"confirmed": "1"})
    endpoint.refresh_from_db()
    assert endpoint.secret != old and endpoint.previous_secret == old
    assert done["Cache-Control"] == "no-store" and endpoint.secret in done.content.decode()
    assert endpoint.secret not in admin.get(f"{BASE}{endpoint.pk}/").content.decode()
    assert AuditEvent.objects.filter(action="webhook.updated").count() == 1


def test_edit_disable_and_delete_are_audited(admin, acme, receiver):
    endpoint = endpoint_create(vendor=acme, url=receiver.url, event_types=["tag.moved"]).endpoint
    page = f"{BASE}{endpoint.pk}/"
    edited = admin.post(page, {"url": receiver.url + "2", "event_types": ["tag.deleted"]})
    assert edited.status_code == 302
    assert admin.post(f"{page}enable", {"enabled": "0"}).status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.event_types, endpoint.enabled) == (
        receiver.url + "2",
        ["tag.deleted"],
        False,
    )
    ask = admin.post(f"{page}delete")
    assert b"Delete webhook" in ask.content and WebhookEndpoint.objects.exists()
    assert admin.post(f"{page}delete", {"confirmed": "1"}).status_code == 302
    assert not WebhookEndpoint.objects.exists()
    actions = list(
        AuditEvent.objects.filter(action__startswith="webhook.")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["webhook.created", "webhook.updated", "webhook.updated", "webhook.deleted"]


def test_the_log_shows_each_attempt_and_redeliver(admin, acme, receiver):
    endpoint = endpoint_create(vendor=acme, url=receiver.url, event_types=["tag.moved"]).endpoint
    receiver.script = [Reply(500)]
    assert admin.post(f"{BASE}{endpoint.pk}/test").status_code == 302
    delivery = WebhookDelivery.objects.get(event_type="webhook.test")
    assert delivery_attempt(delivery_id=delivery.pk) == "pending"
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=delivery.created_at)
    assert delivery_attempt(delivery_id=delivery.pk) == "delivered"
    page = admin.get(f"{BASE}{endpoint.pk}/").content.decode()
    assert "HTTP 500" in page and "HTTP 200" in page and " ms" in page
    assert delivery.event_id in page and "Redeliver" in page
    redeliver = f"{BASE}{endpoint.pk}/deliveries/{delivery.pk}/redeliver"
    assert admin.post(redeliver).status_code == 302
    assert delivery_attempt(delivery_id=delivery.pk) == "delivered"
    assert WebhookAttempt.objects.filter(delivery=delivery).count() == 3
    assert [r.headers["webhook-id"] for r in receiver.received] == [delivery.event_id] * 3


def test_viewers_and_maintainers_are_refused(
    acme, acme_viewer, acme_maintainer, receiver, settings
):
    endpoint = endpoint_create(vendor=acme, url=receiver.url, event_types=["tag.moved"]).endpoint
    page = f"{BASE}{endpoint.pk}/"
    for user in (acme_viewer, acme_maintainer):
        c = sign_in(user, acme)
        assert c.get(BASE).status_code == 403
        assert c.get(page).status_code == 403
        assert c.post(BASE, {"url": receiver.url, "event_types": ["tag.moved"]}).status_code == 403
        for action in ("enable", "rotate", "delete", "test"):
            assert c.post(f"{page}{action}", {"confirmed": "1"}).status_code == 403
        assert b"Webhooks" not in c.get("/p/acme/console/").content
    endpoint.refresh_from_db()
    assert WebhookEndpoint.objects.count() == 1 and endpoint.enabled
    assert not WebhookDelivery.objects.exists()


def test_another_vendors_admin_gets_404(acme, umbrella, umbrella_admin, receiver):
    endpoint = endpoint_create(vendor=acme, url=receiver.url, event_types=["tag.moved"]).endpoint
    c = sign_in(umbrella_admin, umbrella)
    assert c.get(f"/p/umbrella/console/webhooks/{endpoint.pk}/").status_code == 404
    assert c.post(f"/p/umbrella/console/webhooks/{endpoint.pk}/test").status_code == 404
    assert (
        c.post(f"/p/umbrella/console/webhooks/{endpoint.pk}/delete", {"confirmed": "1"}).status_code
        == 404
    )
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()
    assert endpoint.url not in c.get("/p/umbrella/console/webhooks/").content.decode()


def test_the_pages_stack_on_small_screens(admin, acme, receiver):
    endpoint = endpoint_create(vendor=acme, url=receiver.url, event_types=["tag.moved"]).endpoint
    admin.post(f"{BASE}{endpoint.pk}/test")  # a row in the delivery log
    for path in (BASE, f"{BASE}{endpoint.pk}/"):
        html = admin.get(path).content.decode()
        assert 'class="table-wrap stack"' in html and 'data-label="' in html


def test_the_audit_log_names_the_host_not_the_url(admin, receiver):
    post_mint(admin, BASE, {"url": receiver.url + "?token=s3cr3t", "event_types": ["tag.moved"]})
    audit = AuditEvent.objects.get(action="webhook.created")
    assert audit.details["host"] == "127.0.0.1" and "s3cr3t" not in str(audit.details)
