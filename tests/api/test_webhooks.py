"""Webhook endpoints over the REST API: the console's services, the secret once."""

import pytest
from django.test import Client

from customers.models import AuditEvent
from customers.services import token_mint
from tests.api.conftest import problem
from webhooks.models import WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db
JSON = "application/json"
URL = "/api/v1/webhooks/"


def bearer(vendor, *scopes) -> Client:
    secret = token_mint(vendor=vendor, kind="api", name="hooks", scopes=list(scopes)).secret
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def test_register_change_rotate_test_and_delete(vendor):
    api = bearer(vendor, "webhooks:write")
    created = api.post(
        URL,
        {"url": "https://hooks.example.com/distr", "event_types": ["artifact.pushed"]},
        content_type=JSON,
    )
    assert created.status_code == 201, created.content
    assert created["Cache-Control"] == "no-store"
    body = created.json()
    assert body["secret"].startswith("whsec_")
    url = created["Location"]
    assert url == f"{URL}{body['id']}"
    assert body["secret"] not in api.get(url).content.decode()
    assert body["secret"] not in api.get(URL).content.decode()

    changed = api.patch(
        url, {"event_types": ["tag.moved", "tag.deleted"], "enabled": False}, content_type=JSON
    )
    assert changed.status_code == 200
    assert (changed.json()["event_types"], changed.json()["enabled"]) == (
        ["tag.deleted", "tag.moved"],
        False,
    )
    rotated = api.post(f"{url}/rotate-secret")
    assert rotated.status_code == 200 and rotated["Cache-Control"] == "no-store"
    assert rotated.json()["secret"] not in (body["secret"], "")

    sent = api.post(f"{url}/test")
    assert sent.status_code == 202
    assert sent.json()["event_type"] == "webhook.test"
    deliveries = api.get(f"{url}/deliveries/").json()["results"]
    assert [d["event_type"] for d in deliveries] == ["webhook.test"]

    assert api.delete(url).status_code == 204
    problem(api.get(url), 404)
    actions = AuditEvent.objects.filter(vendor=vendor, target=f"webhook:{body['id']}")
    assert sorted(actions.values_list("action", flat=True)) == [
        "webhook.created",
        "webhook.deleted",
        "webhook.updated",
        "webhook.updated",
        "webhook.updated",
    ]


def test_bad_targets_and_event_types_are_422(vendor):
    api = bearer(vendor, "write")
    body = problem(
        api.post(URL, {"url": "ftp://x.example/", "event_types": ["tag.moved"]}, content_type=JSON),
        422,
    )
    assert body["detail"] == "the URL must start with http:// or https://"
    body = problem(api.post(URL, {"url": "not a url", "event_types": []}, content_type=JSON), 400)
    assert sorted(body["errors"]) == ["url"]
    body = problem(
        api.post(URL, {"url": "https://x.example/", "event_types": ["nope"]}, content_type=JSON),
        422,
    )
    assert body["detail"] == "unknown event type(s): nope"
    assert WebhookEndpoint.objects.count() == 0


def test_scopes_and_another_vendors_endpoints(vendor, other_vendor):
    mine = bearer(vendor, "write").post(
        URL, {"url": "https://hooks.example.com/", "event_types": ["tag.moved"]}, content_type=JSON
    )
    url = mine["Location"]
    problem(bearer(vendor, "customers:write").get(URL), 403)
    problem(bearer(vendor, "webhooks:read").post(f"{url}/test"), 403)
    intruder = bearer(other_vendor, "write")
    for method, path in [
        ("get", url),
        ("patch", url),
        ("delete", url),
        ("post", f"{url}/test"),
        ("post", f"{url}/rotate-secret"),
        ("get", f"{url}/deliveries/"),
    ]:
        problem(getattr(intruder, method)(path, content_type=JSON), 404)
    assert intruder.get(URL).json()["results"] == []
    assert WebhookEndpoint.objects.count() == 1 and WebhookDelivery.objects.count() == 0
