"""API tokens are access tokens of kind "api": minted by token_mint with scopes, vendor
owned, audited, and never accepted by the registry (the API refusing registry tokens is in
tests/analytics/test_api.py)."""

import datetime

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import timezone

from customers.models import AccessToken, AuditEvent
from customers.scopes import SCOPES, ScopeError, scope_allows, scopes_validate
from customers.selectors import API_KINDS, token_authenticate
from customers.services import TokenError, token_mint, token_revoke
from registry.signing import token_issue
from tests.conftest import basic


def api_token(vendor, scopes=("read",), **fields):
    return token_mint(vendor=vendor, kind="api", name="crm", scopes=list(scopes), **fields)


# --- the scope rule ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("held", "required", "allowed"),
    [
        (["read"], "analytics:read", True),
        (["read"], "customers:read", True),
        (["read"], "customers:write", False),
        (["write"], "customers:write", True),  # write implies read and covers every area
        (["write"], "analytics:read", True),
        (["customers:write"], "customers:read", True),
        (["customers:write"], "customers:write", True),
        (["customers:write"], "licenses:read", False),  # an area scope stays in its area
        (["customers:read"], "customers:write", False),
        (["analytics:read"], "analytics:read", True),
        (["analytics:read"], "registry:read", False),
        (["licenses:read", "tokens:write"], "tokens:write", True),
        (["read"], "audit:read", True),
        (["branding:write"], "branding:read", True),
        (["branding:write"], "audit:read", False),
        ([], "analytics:read", False),
    ],
)
def test_scope_allows(held, required, allowed):
    assert scope_allows(held, required) is allowed


@pytest.mark.parametrize("required", ["read", "write", "analytics", "billing:read", "tokens:x"])
def test_an_endpoint_names_one_area_scope(required):
    with pytest.raises(ValueError, match="not an area scope"):
        scope_allows(["write"], required)


def test_scopes_are_validated_and_put_in_order():
    assert scopes_validate(["tokens:write", "read", "read"]) == ["read", "tokens:write"]
    assert "analytics:write" not in SCOPES and "audit:write" not in SCOPES  # read-only areas
    assert {"branding:read", "branding:write", "audit:read"} <= set(SCOPES)
    with pytest.raises(ScopeError, match="at least one scope"):
        scopes_validate([])
    with pytest.raises(ScopeError, match="unknown scope.*admin, analytics:write"):
        scopes_validate(["read", "admin", "analytics:write"])


# --- minting ------------------------------------------------------------------------------


def test_mint_stores_a_hashed_vendor_token_with_scopes_and_audits_it(vendor):
    minted = api_token(vendor, ["licenses:write", "customers:write"])
    token = AccessToken.objects.get(pk=minted.token.pk)
    assert minted.secret.startswith("distr_api_") and minted.secret.startswith(token.prefix)
    assert minted.secret not in token.secret_hash
    assert (token.kind, token.customer_id, token.scopes) == (
        "api",
        None,
        ["customers:write", "licenses:write"],
    )
    event = AuditEvent.objects.get(action="token.created", target=f"token:{token.prefix}")
    assert event.details["kind"] == "api"
    assert event.details["scopes"] == ["customers:write", "licenses:write"]
    assert token_authenticate(secret=minted.secret, kinds=API_KINDS) == token


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"scopes": []}, "at least one scope"),
        ({"scopes": ["root"]}, "unknown scope"),
        ({"scopes": ["read"], "repository_patterns": ["app"]}, "narrowed by scopes"),
        ({"scopes": ["read"], "actions": ["push"]}, "narrowed by scopes"),
        ({"scopes": ["read"], "name": "  "}, "needs a name"),
        (
            {"scopes": ["read"], "expires_at": timezone.now() - datetime.timedelta(days=1)},
            "in the future",
        ),
    ],
)
def test_mint_refuses_bad_api_tokens(vendor, fields, message):
    with pytest.raises(TokenError, match=message):
        token_mint(vendor=vendor, kind="api", **{"name": "crm", **fields})
    assert not AccessToken.objects.exists()


def test_an_api_token_has_no_customer(vendor, customer):
    with pytest.raises(TokenError, match="belongs to the vendor"):
        token_mint(vendor=vendor, kind="api", name="x", customer=customer, scopes=["read"])
    token = api_token(vendor).token
    with pytest.raises(IntegrityError), transaction.atomic():  # and the database agrees
        AccessToken.objects.filter(pk=token.pk).update(customer=customer)


@pytest.mark.parametrize("kind", ["push", "pull"])
def test_registry_tokens_have_no_scopes(vendor, customer, kind):
    with pytest.raises(TokenError, match="only API tokens have scopes"):
        token_mint(
            vendor=vendor,
            kind=kind,
            name="x",
            customer=customer if kind == "pull" else None,
            scopes=["read"],
        )


def test_revoke_is_audited_and_refused_from_the_next_call(vendor):
    minted = api_token(vendor)
    assert token_revoke(token=minted.token) is True
    assert token_authenticate(secret=minted.secret, kinds=API_KINDS) is None
    assert AuditEvent.objects.filter(
        action="token.revoked", target=f"token:{minted.token.prefix}"
    ).exists()


# --- the registry never accepts an API token --------------------------------------------


def test_the_registry_refuses_an_api_token_everywhere(vendor):
    secret = api_token(vendor, ["write"]).secret
    assert token_authenticate(secret=secret) is None  # the default kinds are the registry's
    client = Client(HTTP_AUTHORIZATION=basic(secret))
    assert client.get("/v2/").status_code == 401
    assert client.get("/v2/acme/app/tags/list").status_code == 401
    token = client.get("/v2/token", {"scope": "repository:acme/app:pull,push"})
    assert token.status_code == 401
    posted = Client().post(
        "/v2/token",
        {"grant_type": "password", "service": "", "username": "ci", "password": secret},
    )
    assert posted.status_code == 401


def test_a_jwt_naming_an_api_token_is_refused(vendor):
    """Even a validly signed JWT whose subject is an API token's prefix opens nothing."""
    prefix = api_token(vendor, ["write"]).token.prefix
    jwt, _, _ = token_issue(
        subject=prefix, access=[{"type": "repository", "name": "acme/app", "actions": ["pull"]}]
    )
    response = Client(HTTP_AUTHORIZATION=f"Bearer {jwt}").get("/v2/acme/app/tags/list")
    assert response.status_code == 401
    assert "revoked or expired" in response.content.decode()


def test_a_push_token_still_opens_the_registry(vendor, push_secret):
    """The control for the refusals above."""
    assert Client(HTTP_AUTHORIZATION=basic(push_secret)).get("/v2/").status_code == 200


# --- the REST API reads the same scopes -------------------------------------------------


@pytest.mark.parametrize(
    ("scopes", "read", "write"),
    [
        (["read"], 200, 403),
        (["write"], 200, 201),
        (["customers:write"], 200, 201),
        (["customers:read"], 200, 403),
        (["licenses:write"], 403, 403),  # another area: not even a read
    ],
)
def test_the_rest_api_honours_the_scopes(vendor, scopes, read, write):
    api = Client(HTTP_AUTHORIZATION=f"Bearer {api_token(vendor, scopes).secret}")
    assert api.get("/api/v1/customers/").status_code == read
    created = api.post(
        "/api/v1/customers/",
        {"slug": "initech", "name": "Initech"},
        content_type="application/json",
    )
    assert created.status_code == write
    if write == 201:  # audited as the token
        token = AccessToken.objects.get(kind="api")
        assert AuditEvent.objects.get(action="customer.created").actor == f"token:{token.prefix}"
