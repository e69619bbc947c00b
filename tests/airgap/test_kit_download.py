"""The portal's kit download: Content-Length, ETag, Range/206, If-Range, 416; refused
while a license it was built under is suspended (every request); another customer's kit
is 404; one audit row and one pull per image per download start, not per Range."""

import pytest

from airgap.models import KitDownload
from airgap.services import kit_create
from analytics.ingestion import ingest_pass
from analytics.models import PullEvent
from customers.models import AuditEvent
from customers.services import customer_create
from licensing.models import License
from tests.airgap.conftest import kit_bytes
from tests.conftest import license_grant
from tests.portal.conftest import customer_user, sign_in
from tests.support.licensing import REPO

pytestmark = pytest.mark.django_db


@pytest.fixture
def kit(customer, license):
    return kit_create(customer=customer)


@pytest.fixture
def browser(vendor, customer):
    return sign_in(customer_user(customer, "ann@globex.test"), vendor)


def url(kit) -> str:
    return f"/p/acme/kits/{kit.pk}/download"


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def test_a_full_download_is_the_kit_with_its_length_and_etag(browser, kit):
    response = browser.get(url(kit))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-tar"
    assert response["Content-Length"] == str(kit.total_size)
    assert response["ETag"] == kit.etag
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Disposition"] == f'attachment; filename="kit-{kit.pk}.tar"'
    assert body(response) == kit_bytes(kit)


def test_a_range_is_206_with_that_slice_and_resuming_continues_one_download(browser, kit):
    whole = kit_bytes(kit)
    half = kit.total_size // 2
    first = browser.get(url(kit), HTTP_RANGE=f"bytes=0-{half - 1}")
    assert first.status_code == 206
    assert first["Content-Range"] == f"bytes 0-{half - 1}/{kit.total_size}"
    rest = browser.get(url(kit), HTTP_RANGE=f"bytes={half}-", HTTP_IF_RANGE=kit.etag)
    assert rest.status_code == 206
    assert rest["Content-Length"] == str(kit.total_size - half)
    assert body(first) + body(rest) == whole
    # One download, audited once; its images counted once each.
    download = KitDownload.objects.get()
    assert (download.requests, download.bytes_requested) == (2, kit.total_size)
    assert AuditEvent.objects.filter(action=AuditEvent.Action.KIT_DOWNLOADED).count() == 1
    ingest_pass()  # from the Redis stream (CI) or the outbox (embedded default)
    pulls = PullEvent.objects.filter(user_agent=f"distr-kit/{kit.pk}").order_by("reference")
    assert [(p.repository, p.reference, p.digest, p.customer_id, p.counted) for p in pulls] == [
        (REPO, i["tag"], i["digest"], kit.customer_id, True) for i in kit.images
    ]
    # A new download from byte 0 is a second one.
    body(browser.get(url(kit)))
    assert KitDownload.objects.count() == 2
    assert AuditEvent.objects.filter(action=AuditEvent.Action.KIT_DOWNLOADED).count() == 2


def test_if_range_with_another_etag_gets_the_whole_kit(browser, kit):
    response = browser.get(url(kit), HTTP_RANGE="bytes=100-", HTTP_IF_RANGE='"other"')
    assert response.status_code == 200
    assert response["Content-Length"] == str(kit.total_size)


def test_a_range_past_the_end_is_416_problem(browser, kit):
    response = browser.get(url(kit), HTTP_RANGE=f"bytes={kit.total_size}-")
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{kit.total_size}"
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == 416
    assert not KitDownload.objects.exists()


def test_head_answers_the_length_without_counting_a_download(browser, kit):
    response = browser.head(url(kit))
    assert response.status_code == 200
    assert response["Content-Length"] == str(kit.total_size)
    assert not KitDownload.objects.exists()


def test_a_suspended_license_refuses_the_download_and_reactivating_restores_it(
    browser, kit, license
):
    License.objects.filter(pk=license.pk).update(status=License.Status.SUSPENDED)
    refused = browser.get(url(kit), HTTP_RANGE="bytes=10-")
    assert refused.status_code == 403
    assert b"license &#x27;Support 1.x&#x27; is suspended" in refused.content
    assert not KitDownload.objects.exists()
    License.objects.filter(pk=license.pk).update(status=License.Status.ACTIVE)
    assert browser.get(url(kit)).status_code == 200


def test_an_expired_license_refuses_the_download(browser, kit, license):
    import datetime

    License.objects.filter(pk=license.pk).update(
        valid_from=datetime.date(2020, 1, 1), valid_until=datetime.date(2020, 12, 31)
    )
    response = browser.get(url(kit))
    assert response.status_code == 403
    assert b"expired on 2020-12-31" in response.content


def test_a_deleted_license_refuses_the_download(browser, kit, license):
    License.objects.filter(pk=license.pk).delete()
    assert browser.get(url(kit)).status_code == 403


def test_another_customers_kit_is_404(vendor, browser, license):
    other, _ = customer_create(vendor=vendor, slug="initial", name="Initial")
    license_grant(other, REPO, "glob:*", name="All")
    theirs = kit_create(customer=other)
    assert browser.get(url(theirs)).status_code == 404
    assert (
        browser.get("/p/acme/kits/00000000-0000-0000-0000-000000000000/download").status_code == 404
    )


def test_signed_out_is_sent_to_sign_in(client, kit):
    from django.test import Client

    response = Client().get(url(kit))
    assert response.status_code == 302 and "login" in response["Location"]


def test_the_kits_page_previews_builds_and_lists(browser, customer, license):
    page = browser.get("/p/acme/kits/")
    assert page.status_code == 200
    assert b"openssl pkeyutl -verify" in page.content
    preview = browser.post("/p/acme/kits/", {"action": "preview", "tags": "", "newest": "1"})
    assert preview.status_code == 200
    assert b"This kit would hold 1 image" in preview.content
    created = browser.post("/p/acme/kits/", {"action": "create", "newest": "1"})
    assert created.status_code == 302
    from airgap.models import Kit

    kit = Kit.objects.get(customer=customer)
    assert [i["tag"] for i in kit.images] == ["1.1"]
    listed = browser.get("/p/acme/kits/")
    assert f"kits/{kit.pk}/download".encode() in listed.content
    bad = browser.post("/p/acme/kits/", {"action": "create", "tags": "9.9"})
    assert bad.status_code == 400
