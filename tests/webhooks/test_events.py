"""Which changes become which events, with what payload, for whom: the outbox written in
the change's transaction (nothing for a rollback, nothing for another vendor), the
license clock (each notice once), and a customer's first pull (once, from ingestion)."""

import datetime

import pytest
from django.db import transaction

from analytics.ingestion import ingest_pass
from customers.services import (
    customer_create,
    customer_set_suspended,
    token_mint,
    token_revoke,
    vendor_create,
)
from licensing.services import license_create, license_set_status, license_update
from tests.analytics.conftest import pull_client, push_image
from tests.conftest import license_grant
from tests.support.registry_client import image_manifest, put_manifest
from webhooks.events import EVENT_TYPES
from webhooks.models import LicenseNotice, WebhookDelivery
from webhooks.services import endpoint_create, endpoint_set_enabled, license_notices_emit

pytestmark = pytest.mark.django_db


@pytest.fixture
def embedded_mode(settings):
    settings.ANALYTICS_REDIS_URL = ""  # pulls go to the database outbox, ingested in-process


@pytest.fixture
def everything(vendor, receiver):
    return endpoint_create(vendor=vendor, url=receiver.url, event_types=list(EVENT_TYPES))


def _events(**filters) -> list[tuple[str, str, dict]]:
    return [
        (d.event_type, d.payload["subject"], d.payload["data"])
        for d in WebhookDelivery.objects.filter(**filters).order_by("id")
    ]


def test_a_push_by_tag_is_artifact_pushed_then_tag_moved(client, vendor, everything):
    manifest, raw = image_manifest(client, "acme/app")
    assert put_manifest(client, "acme/app", "1.0", raw).status_code == 201
    digest = WebhookDelivery.objects.order_by("id").first().payload["data"]["digest"]
    pushed, moved = _events()
    assert pushed[0:2] == ("artifact.pushed", f"acme/app@{digest}")
    assert pushed[2] == {
        "repository": "acme/app",
        "tag": "1.0",
        "digest": digest,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": None,
        "size": len(raw),
        "actor": pushed[2]["actor"],
    }
    assert pushed[2]["actor"].startswith("token:")
    assert moved[0:2] == ("tag.moved", "acme/app:1.0")
    assert moved[2]["digest"] == digest and moved[2]["previousDigest"] is None
    # The CloudEvent around it.
    event = WebhookDelivery.objects.order_by("id").first().payload
    assert event["specversion"] == "1.0" and event["type"] == "dev.distr.artifact.pushed"
    assert event["source"].endswith("/vendors/acme") and event["id"].startswith("msg_")
    assert event["datacontenttype"] == "application/json" and event["time"].endswith("Z")


def test_tag_moved_again_and_deleted(client, vendor, everything):
    first = push_image(client, "acme/app", "1.0")
    _, raw = image_manifest(client, "acme/app", layers=2)  # another manifest, same tag
    second = put_manifest(client, "acme/app", "1.0", raw)["Docker-Content-Digest"]
    assert client.delete("/v2/acme/app/manifests/1.0").status_code == 202
    moves = [e for e in _events() if e[0] == "tag.moved"]
    assert moves[-1][2]["previousDigest"] == first and moves[-1][2]["digest"] == second
    assert _events(event_type="tag.deleted")[0][1:] == (
        "acme/app:1.0",
        {"repository": "acme/app", "tag": "1.0", "actor": moves[-1][2]["actor"]},
    )


def test_license_customer_and_token_events(vendor, everything):
    customer = customer_create(vendor=vendor, slug="initech", name="Initech")[0]
    license = license_create(
        vendor=vendor, customer=customer, name="Gold", valid_until=datetime.date(2030, 1, 1)
    )
    license_update(
        license=license,
        name="Gold+",
        valid_from=license.valid_from,
        valid_until=datetime.date(2031, 1, 1),
    )
    license_set_status(license=license, status="suspended", actor="user:7")
    minted = token_mint(vendor=vendor, kind="pull", name="cluster", customer=customer)
    token_revoke(token=minted.token)
    customer_set_suspended(customer=customer, suspended=True)
    types = [e[0] for e in _events()]
    assert types == [
        "customer.created",
        "license.created",
        "license.updated",
        "license.suspended",
        "token.created",
        "token.revoked",
        "customer.suspended",
    ]
    events = {e[0]: e for e in _events()}
    assert events["license.updated"][2]["name"] == "Gold+"
    assert events["license.updated"][2]["validUntil"] == "2031-01-01"
    assert events["license.suspended"][2]["status"] == "suspended"
    assert events["license.suspended"][2]["actor"] == "user:7"
    assert events["token.revoked"][1] == f"token:{minted.token.prefix}"
    assert events["token.created"][2]["kind"] == "pull"
    assert events["token.created"][2]["customer"] == "initech"
    assert events["customer.suspended"][2]["suspended"] is True
    assert minted.secret not in str(_events())  # never a secret in an event


def test_only_subscribed_types_and_enabled_endpoints(vendor, endpoint, receiver, everything):
    token_mint(vendor=vendor, kind="push", name="ci")  # `endpoint` is not subscribed
    assert [d.endpoint_id for d in WebhookDelivery.objects.all()] == [everything.endpoint.pk]
    endpoint_set_enabled(endpoint=everything.endpoint, enabled=False)
    endpoint_set_enabled(endpoint=endpoint.endpoint, enabled=False)
    customer_create(vendor=vendor, slug="initech")
    assert WebhookDelivery.objects.count() == 1


def test_an_event_in_a_transaction_that_rolls_back_produces_no_delivery(vendor, everything):
    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        customer_create(vendor=vendor, slug="initech")
        assert WebhookDelivery.objects.count() == 1  # written with the change...
        raise Boom
    assert WebhookDelivery.objects.count() == 0  # ...and gone with it


def test_sending_starts_only_after_commit(
    vendor, everything, settings, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr("webhooks.delivery.deliveries_enqueue", lambda ids, **kw: sent.extend(ids))
    settings.WEBHOOK_SEND_ON_COMMIT = True
    with django_capture_on_commit_callbacks(execute=True):
        customer_create(vendor=vendor, slug="initech")
        assert sent == []
    assert sent == [WebhookDelivery.objects.get().pk]


def test_another_vendors_events_never_reach_this_vendors_endpoints(vendor, client, everything):
    umbrella = vendor_create(slug="umbrella")[0]
    customer_create(vendor=umbrella, slug="initech")
    umbrella_ci = token_mint(vendor=umbrella, kind="push", name="ci")
    token_revoke(token=umbrella_ci.token)
    assert WebhookDelivery.objects.count() == 0
    customer_create(vendor=vendor, slug="initech")
    assert [d.payload["source"].rsplit("/", 1)[1] for d in WebhookDelivery.objects.all()] == [
        "acme"
    ]


def test_license_expiring_30_7_1_then_expired_each_once(vendor, customer, everything):
    today = datetime.date(2027, 3, 1)
    license = license_create(
        vendor=vendor,
        customer=customer,
        name="Gold",
        valid_from=datetime.date(2027, 1, 1),
        valid_until=today + datetime.timedelta(days=40),
    )
    WebhookDelivery.objects.all().delete()
    notices = []
    for day in range(0, 45):
        when = today + datetime.timedelta(days=day)
        license_notices_emit(today=when)
        license_notices_emit(today=when)  # beat runs often: still once
        notices += [(day, e[0], e[2].get("daysLeft")) for e in _events()[len(notices) :]]
    assert notices == [
        (10, "license.expiring", 30),
        (33, "license.expiring", 7),
        (39, "license.expiring", 1),
        (41, "license.expired", None),
    ]
    assert _events(event_type="license.expired")[0][1] == f"license:{license.pk}"


def test_a_license_close_to_its_end_gets_only_the_nearest_notice(vendor, customer, everything):
    today = datetime.date(2027, 3, 1)
    license_create(
        vendor=vendor,
        customer=customer,
        name="Short",
        valid_from=today,
        valid_until=today + datetime.timedelta(days=5),
    )
    license_notices_emit(today=today)
    (event,) = _events(event_type="license.expiring")
    assert event[2]["notice"] == 7 and event[2]["daysLeft"] == 5
    assert set(LicenseNotice.objects.values_list("kind", flat=True)) == {
        "expiring-7",
        "expiring-30",
    }


def test_a_renewal_makes_the_notices_due_again_and_old_expiries_stay_quiet(
    vendor, customer, everything
):
    today = datetime.date(2027, 3, 1)
    license = license_create(
        vendor=vendor,
        customer=customer,
        name="Gold",
        valid_from=datetime.date(2026, 1, 1),
        valid_until=today + datetime.timedelta(days=1),
    )
    license_create(  # ended long ago: not news
        vendor=vendor,
        customer=customer,
        name="Old",
        valid_from=datetime.date(2026, 1, 1),
        valid_until=datetime.date(2026, 6, 1),
    )
    license_notices_emit(today=today)
    license_update(
        license=license,
        name="Gold",
        valid_from=license.valid_from,
        valid_until=today + datetime.timedelta(days=3),
    )
    license_notices_emit(today=today)
    assert [e[2]["daysLeft"] for e in _events(event_type="license.expiring")] == [1, 3]
    assert _events(event_type="license.expired") == []


def test_customer_first_pull_once_per_customer(embedded_mode, client, vendor, customer, everything):
    license_grant(customer, "acme/app", "glob:*")
    digest = push_image(client, "acme/app", "1.0")
    puller = pull_client(customer)
    for _ in range(2):
        assert puller.get("/v2/acme/app/manifests/1.0").status_code == 200
    ingest_pass()
    assert puller.get("/v2/acme/app/manifests/1.0").status_code == 200
    ingest_pass()
    (event,) = _events(event_type="customer.first_pull")
    assert event[1] == "customer:globex"
    assert (event[2]["repository"], event[2]["tag"], event[2]["digest"]) == (
        "acme/app",
        "1.0",
        digest,
    )
