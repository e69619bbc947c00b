"""The analytics JSON API: token and session authentication, scopes, vendor scoping, CSV,
schema. API tokens are customers.AccessToken of kind "api" (customers/scopes.py)."""

import datetime
import logging

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from customers.models import AccessToken, VendorMember
from customers.services import token_mint, token_revoke

API = "/api/v1/analytics"


def api_token(vendor, scopes=("read",), **fields):
    return token_mint(vendor=vendor, kind="api", name="t", scopes=list(scopes), **fields)


def _bearer(vendor, scopes=("read",)) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {api_token(vendor, scopes).secret}")


def test_token_reads_its_vendors_analytics(embedded_mode, history, vendor):
    api = _bearer(vendor)
    body = api.get(f"{API}/customers/top", {"days": 90}).json()
    assert body["vendor"] == "acme"
    assert [(r["customer"], r["pulls"]) for r in body["results"]] == [("globex", 4), ("initech", 3)]
    daily = api.get(f"{API}/pulls/daily", {"days": 7, "repository": "acme/app"}).json()
    assert sum(r["pulls"] for r in daily["results"]) == 4 and len(daily["results"]) == 7
    adoption = api.get(f"{API}/adoption", {"days": 90}).json()["results"]
    assert [(r["customer"], r["behind"]) for r in adoption] == [("globex", 0), ("initech", 1)]
    quiet = api.get(f"{API}/customers/quiet").json()["results"]
    assert [r["customer"] for r in quiet] == ["hooli", "initech"]
    tags = api.get(f"{API}/tags/top", {"days": 90}).json()["results"]
    assert [(r["tag"], r["pulls"]) for r in tags] == [("1.0", 5), ("1.1", 1), ("2.0", 1)]
    repos = api.get(f"{API}/repositories/top", {"days": 90}).json()["results"]
    assert repos == [{"repository": "acme/app", "pulls": 7}]
    history_rows = api.get(f"{API}/customers/globex/history", {"days": 90}).json()["results"]
    assert [(r["tag"], r["pulls"]) for r in history_rows] == [("2.0", 1), ("1.0", 3)]
    rollups = api.get(f"{API}/rollups", {"days": 90}).json()["results"]
    assert sum(r["pulls"] for r in rollups) == 7


def test_csv_export(embedded_mode, history, vendor):
    response = _bearer(vendor).get(f"{API}/customers/top", {"days": 90, "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    lines = response.content.decode().splitlines()
    assert lines[0] == "customer_id,customer,customer_name,pulls,last_pull"
    assert [line.split(",")[1:4] for line in lines[1:]] == [
        ["globex", "Globex", "4"],
        ["initech", "Initech", "3"],
    ]


def test_another_vendors_token_cannot_read_acme(embedded_mode, history):
    api = _bearer(history["umbrella"])
    top = api.get(f"{API}/customers/top", {"days": 90}).json()
    assert (top["vendor"], [r["customer"] for r in top["results"]]) == ("umbrella", ["wesker"])
    assert api.get(f"{API}/customers/globex/history").status_code == 404
    rollups = api.get(f"{API}/rollups", {"days": 90, "repository": "acme/app"}).json()
    assert rollups["results"] == []
    assert api.get(f"{API}/customers/quiet").json()["results"] == []
    # ?vendor= is for sessions of multi-vendor staff; a token stays on its own vendor.
    assert api.get(f"{API}/customers/top", {"vendor": "acme"}).json()["vendor"] == "umbrella"


@pytest.mark.parametrize(
    "header", ["", "Bearer distr_api_nonsense", "Bearer distr_pull_" + "a" * 43, "Basic eDp5"]
)
def test_requests_without_a_valid_credential_are_refused(embedded_mode, history, header):
    client = Client(HTTP_AUTHORIZATION=header) if header else Client()
    assert client.get(f"{API}/customers/top").status_code == 401


def test_revoked_token_is_refused(embedded_mode, vendor):
    minted = api_token(vendor)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {minted.secret}")
    assert client.get(f"{API}/customers/top").status_code == 200
    token_revoke(token=minted.token)
    assert client.get(f"{API}/customers/top").status_code == 401  # the very next request


def test_expired_token_is_refused(embedded_mode, vendor):
    minted = api_token(vendor, expires_at=timezone.now() + datetime.timedelta(hours=1))
    client = Client(HTTP_AUTHORIZATION=f"Bearer {minted.secret}")
    assert client.get(f"{API}/customers/top").status_code == 200
    AccessToken.objects.filter(pk=minted.token.pk).update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    assert client.get(f"{API}/customers/top").status_code == 401


def test_a_use_is_recorded(embedded_mode, vendor):
    minted = api_token(vendor)
    assert minted.token.last_used_at is None
    Client(HTTP_AUTHORIZATION=f"Bearer {minted.secret}").get(f"{API}/customers/top")
    minted.token.refresh_from_db()
    assert minted.token.last_used_at is not None


def test_the_request_log_names_the_token(embedded_mode, vendor, caplog):
    caplog.set_level(logging.INFO, logger="distr.request")
    minted = api_token(vendor)
    response = Client(HTTP_AUTHORIZATION=f"Bearer {minted.secret}").get(f"{API}/customers/top")
    response.close()  # the line is written when the server closes the response
    (fields,) = [r.fields for r in caplog.records if r.name == "distr.request"]
    assert (fields["status"], fields["principal_kind"], fields["principal_id"]) == (
        200,
        "api",
        f"token:{minted.token.prefix}",
    )
    assert fields["vendor_id"] == vendor.pk and minted.secret not in str(fields)


@pytest.mark.parametrize(
    ("scopes", "status"),
    [
        (["read"], 200),
        (["write"], 200),  # write implies read
        (["analytics:read"], 200),
        (["customers:write"], 403),  # another area only
        (["customers:read", "licenses:write"], 403),
    ],
)
def test_scopes_decide(embedded_mode, vendor, scopes, status):
    response = _bearer(vendor, scopes).get(f"{API}/customers/top")
    assert response.status_code == status
    if status == 403:
        assert "analytics:read" in response.json()["detail"]


@pytest.mark.parametrize("kind", ["push", "pull"])
def test_registry_tokens_never_open_the_api(embedded_mode, vendor, customer, kind):
    secret = token_mint(
        vendor=vendor, kind=kind, name="r", customer=customer if kind == "pull" else None
    ).secret
    response = Client(HTTP_AUTHORIZATION=f"Bearer {secret}").get(f"{API}/customers/top")
    assert response.status_code == 401
    assert "registry token cannot be used" in response.json()["detail"]
    basic = Client(HTTP_AUTHORIZATION=f"Basic {secret}").get(f"{API}/customers/top")
    assert basic.status_code in (401, 403)


def test_vendor_staff_session(embedded_mode, history, vendor):
    user = get_user_model().objects.create_user("staff", password="pw-123456789")
    client = Client()
    client.force_login(user)
    assert client.get(f"{API}/customers/top").status_code == 403  # not a member yet
    VendorMember.objects.create(vendor=vendor, user=user)
    body = client.get(f"{API}/customers/top", {"days": 90}).json()
    assert [r["customer"] for r in body["results"]] == ["globex", "initech"]
    VendorMember.objects.create(vendor=history["umbrella"], user=user)
    assert client.get(f"{API}/customers/top").status_code == 403  # which vendor?
    body = client.get(f"{API}/customers/top", {"vendor": "umbrella"}).json()
    assert [r["customer"] for r in body["results"]] == ["wesker"]


def test_bad_filters_are_400(embedded_mode, vendor):
    api = _bearer(vendor)
    assert api.get(f"{API}/pulls/daily", {"days": 0}).status_code == 400
    assert (
        api.get(f"{API}/pulls/daily", {"start": "2025-02-01", "end": "2025-01-01"}).status_code
        == 400
    )


def test_schema_and_docs_are_served_without_a_cdn(db):
    schema = Client().get("/api/schema/")
    assert schema.status_code == 200
    text = schema.content.decode()
    assert "/api/v1/analytics/customers/top" in text and "apiToken" in text
    docs = Client().get("/api/docs/")
    assert docs.status_code == 200
    page = docs.content.decode()
    assert "drf_spectacular_sidecar/swagger-ui-dist" in page
    assert "cdn" not in page.lower() and "https://" not in page
