"""API tokens at the REST API: scopes decide reads and writes per area, another vendor's
token finds nothing of this vendor's and changes nothing, and a revoked or expired token
is refused from the next request."""

import datetime
from types import SimpleNamespace

import pytest
from django.test import Client
from django.utils import timezone

from customers.models import AccessToken, AuditEvent, Customer
from customers.services import token_mint, token_revoke
from licensing.models import License
from tests.api.conftest import problem
from tests.conftest import license_grant
from tests.support.registry_client import image_manifest, put_manifest

pytestmark = pytest.mark.django_db
JSON = "application/json"


def bearer(vendor, *scopes, **fields) -> Client:
    secret = token_mint(vendor=vendor, kind="api", name="t", scopes=list(scopes), **fields).secret
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def test_read_scope_reads_and_may_not_write(vendor, globex):
    reader = bearer(vendor, "read")
    assert reader.get("/api/v1/customers/globex").status_code == 200
    body = problem(reader.post("/api/v1/customers/globex/suspend"), 403)
    assert body["detail"] == "this API token lacks the scope 'customers:write'"
    assert Customer.objects.get(slug="globex").suspended_at is None


def test_an_area_scope_covers_its_area_only(vendor, globex):
    crm = bearer(vendor, "customers:write")
    assert crm.post("/api/v1/customers/", {"slug": "initech"}, content_type=JSON).status_code == 201
    problem(crm.get("/api/v1/licenses/"), 403)
    problem(
        crm.post("/api/v1/licenses/", {"customer": "globex", "name": "x"}, content_type=JSON), 403
    )
    problem(crm.get("/api/v1/analytics/pulls/daily"), 403)
    assert License.objects.count() == 0


def test_changes_are_audited_as_the_token(vendor, globex):
    writer_secret = token_mint(vendor=vendor, kind="api", name="crm", scopes=["write"])
    writer = Client(HTTP_AUTHORIZATION=f"Bearer {writer_secret.secret}")
    assert writer.post("/api/v1/customers/globex/suspend").status_code == 200
    (event,) = AuditEvent.objects.filter(action="customer.suspended")
    assert event.actor == f"token:{writer_secret.token.prefix}"


def test_a_revoked_or_expired_token_is_refused_at_once(vendor, globex):
    minted = token_mint(vendor=vendor, kind="api", name="t", scopes=["read"])
    client = Client(HTTP_AUTHORIZATION=f"Bearer {minted.secret}")
    assert client.get("/api/v1/customers/").status_code == 200
    token_revoke(token=minted.token)
    problem(client.get("/api/v1/customers/"), 401)
    soon = bearer(vendor, "read", expires_at=timezone.now() + datetime.timedelta(seconds=60))
    assert soon.get("/api/v1/customers/").status_code == 200
    AccessToken.objects.filter(kind="api", revoked_at__isnull=True).update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    problem(soon.get("/api/v1/customers/"), 401)


@pytest.fixture
def acme_objects(vendor, globex, client):
    _, raw = image_manifest(client, "acme/app")
    assert put_manifest(client, "acme/app", "1.0", raw).status_code == 201
    license = license_grant(globex, "acme/app", "glob:*")
    pull = token_mint(vendor=vendor, customer=globex, kind="pull", name="p").token
    return {"license": license.pk, "grant": license.grants.get().pk, "token": pull.prefix}


def snapshot():
    return (
        list(Customer.objects.order_by("pk").values_list("slug", "name", "suspended_at")),
        list(License.objects.order_by("pk").values_list("name", "status", "valid_until")),
        list(AccessToken.objects.order_by("pk").values_list("prefix", "revoked_at")),
        AuditEvent.objects.count(),
    )


CROSS_VENDOR = [
    ("get", "/api/v1/customers/globex", None),
    ("patch", "/api/v1/customers/globex", {"name": "Mine"}),
    ("post", "/api/v1/customers/globex/suspend", None),
    ("get", "/api/v1/customers/globex/users/", None),
    ("post", "/api/v1/customers/globex/invitations/", {"email": "x@y.test"}),
    ("get", "/api/v1/licenses/{license}", None),
    ("patch", "/api/v1/licenses/{license}", {"name": "Mine"}),
    ("post", "/api/v1/licenses/{license}/suspend", None),
    ("delete", "/api/v1/licenses/{license}", None),
    ("post", "/api/v1/licenses/{license}/renew", {"valid_until": None}),
    ("post", "/api/v1/licenses/{license}/grants/", {"repository": "x/y", "rule": "glob:*"}),
    ("delete", "/api/v1/licenses/{license}/grants/{grant}", None),
    ("get", "/api/v1/tokens/{token}", None),
    ("delete", "/api/v1/tokens/{token}", None),
    ("get", "/api/v1/repositories/acme/app/tags/", None),
    ("delete", "/api/v1/repositories/acme/app/tags/1.0", None),
    ("post", "/api/v1/licenses/", {"customer": "globex", "name": "x"}),
    ("post", "/api/v1/tokens/", {"kind": "pull", "name": "x", "customer": "globex"}),
]


@pytest.mark.parametrize(("method", "url", "body"), CROSS_VENDOR)
def test_another_vendors_token_finds_nothing_and_changes_nothing(
    method, url, body, other_vendor, acme_objects
):
    intruder = bearer(other_vendor, "write")
    before = snapshot()
    kwargs = {"content_type": JSON, "data": body} if body is not None else {}
    response = getattr(intruder, method)(url.format(**acme_objects), **kwargs)
    problem(response, 404)
    assert snapshot() == before


def test_another_vendors_lists_are_empty(vendor, other_vendor, acme_objects):
    intruder = bearer(other_vendor, "read")
    for url in ("customers/", "licenses/", "tokens/", "repositories/"):
        assert intruder.get(f"/api/v1/{url}").json()["results"] == [], url
    theirs = {e["id"] for e in intruder.get("/api/v1/audit-events/").json()["results"]}
    assert theirs == set(
        AuditEvent.objects.filter(vendor=other_vendor).values_list("pk", flat=True)
    )
    assert theirs.isdisjoint(AuditEvent.objects.filter(vendor=vendor).values_list("pk", flat=True))


def test_a_refused_api_token_is_audited_for_its_vendor_once_a_minute(vendor):
    minted = token_mint(vendor=vendor, kind="api", name="old ci", scopes=["read"])
    token_revoke(token=minted.token)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {minted.secret}", REMOTE_ADDR="192.0.2.9")
    for _ in range(3):
        problem(client.get("/api/v1/customers/"), 401)
    (event,) = AuditEvent.objects.filter(vendor=vendor, action="auth.failed")
    assert (event.actor, event.target, event.client_address) == (
        f"token:{minted.token.prefix}",
        "old ci",
        "192.0.2.9",
    )
    assert event.details == {
        "path": "/api/v1/customers/",
        "window_seconds": 60,
        "reason": "revoked",
    }


def test_guessing_api_tokens_is_refused_after_the_registrys_failure_limit(
    vendor, settings, monkeypatch
):
    settings.REGISTRY_AUTH_FAILURES_PER_MINUTE = 3
    monkeypatch.setattr("customers.services.time", SimpleNamespace(time=lambda: 6_000_010.0))
    guesser = Client(REMOTE_ADDR="198.51.100.66")
    for n in range(3):
        wrong = f"Bearer distr_api_{'x' * 40}{n}"
        problem(guesser.get("/api/v1/customers/", HTTP_AUTHORIZATION=wrong), 401)
    refused = guesser.get("/api/v1/customers/", HTTP_AUTHORIZATION="Bearer distr_api_zzz")
    problem(refused, 429)
    assert refused["Retry-After"] == "50"
    good = token_mint(vendor=vendor, kind="api", name="t", scopes=["read"]).secret
    problem(guesser.get("/api/v1/customers/", HTTP_AUTHORIZATION=f"Bearer {good}"), 429)
    assert (
        Client(REMOTE_ADDR="198.51.100.67", HTTP_AUTHORIZATION=f"Bearer {good}")
        .get("/api/v1/customers/")
        .status_code
        == 200
    )
