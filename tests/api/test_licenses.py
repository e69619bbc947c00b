"""Licenses and grants over the REST API: create with grants, ETag and If-Match (a lost
update is refused with 412 and changes nothing), suspend, resume, renew, grant preview;
Idempotency-Key on POST."""

import datetime

import pytest
from django.test import Client
from django.utils import timezone

from api.idempotency import idempotency_keys_purge
from api.models import IdempotencyKey
from customers.models import AuditEvent
from customers.services import customer_create, token_mint
from licensing.models import License, LicenseGrant
from licensing.services import license_create
from tests.api.conftest import problem
from tests.conftest import basic
from tests.support.registry_client import image_manifest, put_manifest

pytestmark = pytest.mark.django_db
JSON = "application/json"


def create(admin, idempotency_key=None, **fields):
    body = {"customer": "globex", "name": "Gold", "valid_from": "2026-01-01"} | fields
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
    return admin.post("/api/v1/licenses/", body, content_type=JSON, headers=headers)


def test_a_license_is_created_with_its_grants_in_one_step(admin, globex):
    response = create(admin, grants=[{"repository": "acme/app", "rule": "semver:>=1.0,<2"}])
    assert response.status_code == 201, response.content
    body = response.json()
    assert response["Location"] == f"/api/v1/licenses/{body['id']}"
    assert response["ETag"].startswith('"')
    assert (body["customer"], body["status"], body["state"]) == ("globex", "active", "active")
    assert [(g["repository"], g["rule"]) for g in body["grants"]] == [
        ("acme/app", "semver:>=1.0,<2")
    ]


def test_a_bad_grant_creates_neither_license_nor_grant(admin, globex):
    response = create(admin, grants=[{"repository": "acme/app", "rule": "regex:.*"}])
    body = problem(response, 422)
    assert body["detail"] == "a tag rule is exact:TAG, glob:PATTERN or semver:RANGE"
    assert License.objects.count() == LicenseGrant.objects.count() == 0


def test_an_update_with_a_stale_etag_is_refused_and_changes_nothing(admin, globex):
    created = create(admin)
    url, first_etag = f"/api/v1/licenses/{created.json()['id']}", created["ETag"]
    updated = admin.patch(
        url, {"notes": "renewed by sales"}, content_type=JSON, HTTP_IF_MATCH=first_etag
    )
    assert updated.status_code == 200
    assert updated["ETag"] != first_etag
    lost = admin.patch(url, {"notes": "stale edit"}, content_type=JSON, HTTP_IF_MATCH=first_etag)
    problem(lost, 412)
    assert License.objects.get().notes == "renewed by sales"
    problem(admin.post(f"{url}/suspend", HTTP_IF_MATCH=first_etag), 412)
    assert License.objects.get().status == "active"
    current = admin.get(url)
    assert current["ETag"] == updated["ETag"]
    assert (
        admin.post(f"{url}/suspend", HTTP_IF_MATCH=current["ETag"]).json()["state"] == "suspended"
    )


def test_suspend_resume_renew_and_their_audit_rows(admin, vendor, globex):
    url = f"/api/v1/licenses/{create(admin, valid_until='2026-06-30').json()['id']}"
    assert admin.post(f"{url}/suspend").json()["status"] == "suspended"
    assert admin.post(f"{url}/resume").json()["status"] == "active"
    renewed = admin.post(f"{url}/renew", {"valid_until": "2027-06-30"}, content_type=JSON)
    assert renewed.json()["valid_until"] == "2027-06-30"
    problem(admin.post(f"{url}/renew", {"valid_until": "2025-01-01"}, content_type=JSON), 422)
    actions = list(
        AuditEvent.objects.filter(vendor=vendor, action__startswith="license.")
        .order_by("pk")
        .values_list("action", "details__status")
    )
    assert actions == [
        ("license.created", None),
        ("license.updated", "suspended"),
        ("license.updated", "active"),
        ("license.updated", None),
    ]


def test_grants_are_added_previewed_and_removed(admin, client, globex):
    for tag in ("1.0", "1.5", "2.0"):
        _, raw = image_manifest(client, "acme/app", annotations={"t": tag})
        assert put_manifest(client, "acme/app", tag, raw).status_code == 201
    url = f"/api/v1/licenses/{create(admin).json()['id']}/grants/"
    preview = admin.get("/api/v1/grants/preview", {"repository": "acme/app", "rule": "glob:1.*"})
    assert preview.json() == {"repository": "acme/app", "rule": "glob:1.*", "tags": ["1.5", "1.0"]}
    added = admin.post(url, {"repository": "acme/app", "rule": "glob:1.*"}, content_type=JSON)
    assert added.status_code == 201
    assert [g["rule"] for g in admin.get(url).json()["results"]] == ["glob:1.*"]
    assert admin.delete(f"{url}{added.json()['id']}").status_code == 204
    assert admin.get(url).json()["results"] == []
    problem(admin.delete(f"{url}{added.json()['id']}"), 404)


def test_the_same_post_with_one_idempotency_key_creates_one_license(admin, globex):
    first = create(admin, idempotency_key="deal-4711")
    again = create(admin, idempotency_key="deal-4711")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert again["Location"] == first["Location"]
    assert License.objects.count() == 1
    other = create(admin, name="Silver", idempotency_key="deal-4711")
    assert "different request" in problem(other, 422)["detail"]
    assert create(admin, name="Silver", idempotency_key="deal-4712").status_code == 201
    assert License.objects.count() == 2


def test_a_failed_post_stores_no_answer_so_its_retry_runs(admin, globex):
    problem(create(admin, valid_until="2020-01-01", idempotency_key="k1"), 422)
    assert create(admin, idempotency_key="k1").status_code == 201


def test_another_vendors_license_is_not_found_and_unchanged(admin, other_vendor):
    theirs = license_create(
        vendor=other_vendor,
        customer=customer_create(vendor=other_vendor, slug="c")[0],
        name="Theirs",
    )
    url = f"/api/v1/licenses/{theirs.pk}"
    problem(admin.get(url), 404)
    problem(admin.patch(url, {"name": "mine"}, content_type=JSON), 404)
    problem(admin.post(f"{url}/suspend"), 404)
    problem(
        admin.post(
            f"{url}/grants/", {"repository": "umbrella/x", "rule": "glob:*"}, content_type=JSON
        ),
        404,
    )
    assert License.objects.get(pk=theirs.pk).name == "Theirs"
    assert admin.get("/api/v1/licenses/").json()["results"] == []


def test_an_expired_key_is_forgotten_and_purged(admin, globex, settings):
    assert create(admin, idempotency_key="k").status_code == 201
    IdempotencyKey.objects.update(created_at=timezone.now() - datetime.timedelta(hours=25))
    again = create(admin, idempotency_key="k")
    assert again.status_code == 201 and "Idempotent-Replayed" not in again
    assert License.objects.count() == 2
    IdempotencyKey.objects.update(created_at=timezone.now() - datetime.timedelta(hours=25))
    assert idempotency_keys_purge() == 1
    assert IdempotencyKey.objects.count() == 0


def test_a_deleted_license_pulls_nothing_from_the_next_request(admin, client, vendor, globex):
    _, raw = image_manifest(client, "acme/app")
    assert put_manifest(client, "acme/app", "1.0", raw).status_code == 201
    created = create(admin, grants=[{"repository": "acme/app", "rule": "glob:*"}])
    secret = token_mint(vendor=vendor, customer=globex, kind="pull", name="p").secret
    puller = Client(HTTP_AUTHORIZATION=basic(secret))
    assert puller.get("/v2/acme/app/manifests/1.0").status_code == 200
    url = f"/api/v1/licenses/{created.json()['id']}"
    problem(admin.delete(url, HTTP_IF_MATCH='"stale"'), 412)
    assert admin.delete(url, HTTP_IF_MATCH=created["ETag"]).status_code == 204
    assert puller.get("/v2/acme/app/manifests/1.0").status_code == 403
    problem(admin.get(url), 404)
    (event,) = AuditEvent.objects.filter(vendor=vendor, action="license.deleted")
    assert event.details["grants"] == ["acme/app glob:*"]
    assert LicenseGrant.objects.count() == 0
