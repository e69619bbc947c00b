"""Tokens, repositories and tags, the audit log and branding over the REST API."""

import csv
import io
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from django.core.cache import cache
from django.test import Client

from customers.models import AccessToken, AuditEvent
from tests.api.conftest import problem
from tests.conftest import basic, license_grant
from tests.support.registry_client import image_manifest, put_manifest

pytestmark = pytest.mark.django_db
JSON = "application/json"


def test_a_minted_pull_token_shows_its_secret_once_and_pulls(admin, client, globex):
    _, raw = image_manifest(client, "acme/app")
    assert put_manifest(client, "acme/app", "1.0", raw).status_code == 201
    license_grant(globex, "acme/app", "glob:*")
    minted = admin.post(
        "/api/v1/tokens/",
        {"kind": "pull", "name": "cluster", "customer": "globex"},
        content_type=JSON,
    )
    assert minted.status_code == 201, minted.content
    assert minted["Cache-Control"] == "no-store"
    secret = minted.json()["secret"]
    prefix = minted.json()["prefix"]
    assert secret.startswith("distr_pull_") and minted.json()["customer"] == "globex"
    listed = admin.get("/api/v1/tokens/", {"customer": "globex"})
    assert [t["prefix"] for t in listed.json()["results"]] == [prefix]
    assert secret not in listed.content.decode()
    assert secret not in admin.get(f"/api/v1/tokens/{prefix}").content.decode()
    registry = Client(HTTP_AUTHORIZATION=basic(secret))
    assert registry.get("/v2/acme/app/manifests/1.0").status_code == 200
    assert admin.delete(f"/api/v1/tokens/{prefix}").status_code == 204
    assert registry.get("/v2/acme/app/manifests/1.0").status_code == 401
    assert admin.get(f"/api/v1/tokens/{prefix}").json()["state"] == "revoked"


def test_token_mint_refusals(admin, globex, other_vendor):
    body = problem(
        admin.post("/api/v1/tokens/", {"kind": "pull", "name": "x"}, content_type=JSON), 422
    )
    assert body["detail"] == "a pull token belongs to a customer"
    problem(
        admin.post(
            "/api/v1/tokens/", {"kind": "pull", "name": "x", "customer": "nope"}, content_type=JSON
        ),
        404,
    )
    problem(admin.post("/api/v1/tokens/", {"kind": "root", "name": "x"}, content_type=JSON), 400)
    assert AccessToken.objects.count() == 0


def test_repositories_and_tags_with_sizes_and_deletes(admin, client, vendor):
    _, raw = image_manifest(client, "acme/app", layers=2)
    assert put_manifest(client, "acme/app", "1.0", raw).status_code == 201
    assert put_manifest(client, "acme/app", "latest", raw).status_code == 201
    repositories = admin.get("/api/v1/repositories/").json()["results"]
    assert [(r["name"], r["tag_count"]) for r in repositories] == [("acme/app", 2)]
    assert repositories[0]["size"] > 0
    tags = admin.get("/api/v1/repositories/acme/app/tags/").json()["results"]
    assert sorted(t["name"] for t in tags) == ["1.0", "latest"]
    assert {t["digest"] for t in tags} == {tags[0]["digest"]}
    assert admin.delete("/api/v1/repositories/acme/app/tags/latest").status_code == 204
    problem(admin.delete("/api/v1/repositories/acme/app/tags/latest"), 404)
    digest = tags[0]["digest"]
    assert admin.delete(f"/api/v1/repositories/acme/app/manifests/{digest}").status_code == 204
    assert client.get(f"/v2/acme/app/manifests/{digest}").status_code == 404
    problem(admin.get("/api/v1/repositories/umbrella/app/tags/"), 404)
    actions = AuditEvent.objects.filter(
        vendor=vendor, action__in=["tag.deleted", "manifest.deleted"]
    )
    assert sorted(actions.values_list("action", flat=True)) == ["manifest.deleted", "tag.deleted"]
    assert {e.actor for e in actions} == {f"user:{admin.session['_auth_user_id']}"}


def test_audit_events_filter_and_csv(admin, vendor, globex):
    admin.post("/api/v1/customers/globex/suspend")
    events = admin.get("/api/v1/audit-events/", {"action": "customer.suspended"}).json()["results"]
    assert [(e["action"], e["target"]) for e in events] == [
        ("customer.suspended", "customer:globex")
    ]
    assert admin.get("/api/v1/audit-events/", {"target": "customer:nobody"}).json()["results"] == []
    problem(admin.get("/api/v1/audit-events/", {"action": "drop table"}), 400)
    exported = admin.get("/api/v1/audit-events/", {"format": "csv"})
    assert exported.status_code == 200
    assert exported["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(b"".join(exported.streaming_content).decode())))
    assert {r["action"] for r in rows} >= {"customer.created", "customer.suspended"}


def test_branding_update_needs_the_current_etag(admin, vendor):
    read = admin.get("/api/v1/branding")
    assert read.status_code == 200
    etag = read["ETag"]
    changed = admin.patch(
        "/api/v1/branding", {"display_name": "Acme Cloud"}, content_type=JSON, HTTP_IF_MATCH=etag
    )
    assert changed.status_code == 200 and changed.json()["display_name"] == "Acme Cloud"
    stale = admin.patch(
        "/api/v1/branding", {"display_name": "Lost"}, content_type=JSON, HTTP_IF_MATCH=etag
    )
    problem(stale, 412)
    assert admin.get("/api/v1/branding").json()["display_name"] == "Acme Cloud"
    body = problem(
        admin.patch("/api/v1/branding", {"primary_color": "red"}, content_type=JSON), 400
    )
    assert list(body["errors"]) == ["primary_color"]


def test_the_rate_limit_answers_429_with_retry_after(admin, viewer, settings, monkeypatch):
    settings.API_RATE_LIMIT = "3/min"
    clock = SimpleNamespace(time=lambda: 6_000_045.0)  # 45 s into a minute's window
    monkeypatch.setattr("api.access.time", clock)
    statuses = [admin.get("/api/v1/customers/").status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    refused = admin.get("/api/v1/customers/")
    problem(refused, 429)
    assert refused["Retry-After"] == "15"
    assert viewer.get("/api/v1/customers/").status_code == 200  # its own budget
    clock.time = lambda: 6_000_060.0  # the next window
    assert admin.get("/api/v1/customers/").status_code == 200


def test_invitations_return_the_link_when_no_mail_is_configured(admin, globex, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"  # no EMAIL_URL
    response = admin.post(
        "/api/v1/customers/globex/invitations/", {"email": "ops@globex.test"}, content_type=JSON
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert response["Cache-Control"] == "no-store"
    assert (body["email"], body["role"], body["mailed"]) == ("ops@globex.test", "member", False)
    link = urlsplit(body["link"])
    assert f"{link.scheme}://{link.netloc}" == settings.DISTR_PUBLIC_URL
    opened = Client().get(link.path)  # a new user: the invitation opens sign-up
    assert opened.status_code == 302
    assert opened["Location"] == "/p/acme/accounts/signup/?email=ops@globex.test"


def test_each_process_adds_its_count_to_the_shared_one_in_batches(admin, settings, monkeypatch):
    settings.API_RATE_LIMIT = "400/min"  # batches of a twentieth: 20 requests
    monkeypatch.setattr("api.access.time", SimpleNamespace(time=lambda: 7_000_010.0))
    for _ in range(45):
        assert admin.get("/api/v1/customers/").status_code == 200
    user = admin.session["_auth_user_id"]
    # the first request reads (and adds to) the shared count, then every 20th adds its
    # batch: 1 + 20 + 20 shared; the last 4 are only this process's, until its next flush
    assert cache.get(f"api-rate:user:{user}:{7_000_010 // 60}") == 41
    settings.API_RATE_LIMIT = "10/min"  # under twenty: every request is added at once
    for _ in range(3):
        admin.get("/api/v1/customers/")
    assert cache.get(f"api-rate:user:{user}:{7_000_010 // 60}") == 41 + 4 + 3  # and the 4


def test_a_retried_mint_creates_one_token_and_never_stores_or_replays_the_secret(admin, globex):
    from api.models import IdempotencyKey

    body = {"kind": "pull", "name": "cluster", "customer": "globex"}
    headers = {"HTTP_IDEMPOTENCY_KEY": "mint-1"}
    first = admin.post("/api/v1/tokens/", body, content_type=JSON, **headers)
    assert first.status_code == 201 and first.json()["secret"].startswith("distr_pull_")
    again = admin.post("/api/v1/tokens/", body, content_type=JSON, **headers)
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json() == {**first.json(), "secret": None}
    assert AccessToken.objects.filter(customer=globex).count() == 1
    (stored,) = IdempotencyKey.objects.all()
    assert stored.body["secret"] is None and first.json()["secret"] not in str(stored.body)


def test_a_retried_invitation_does_not_replay_its_link(admin, globex, settings):
    from api.models import IdempotencyKey

    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"  # no EMAIL_URL
    body = {"email": "ops@globex.example", "role": "admin"}
    headers = {"HTTP_IDEMPOTENCY_KEY": "invite-1"}
    url = "/api/v1/customers/globex/invitations/"
    first = admin.post(url, body, content_type=JSON, **headers)
    assert first.status_code == 201 and "/invite/" in first.json()["link"]
    again = admin.post(url, body, content_type=JSON, **headers)
    assert again.status_code == 201 and again.json()["link"] is None
    assert "/invite/" not in str(IdempotencyKey.objects.get().body)
