"""`/v2/token`: the Docker token endpoint (GET with Basic credentials, OAuth2 POST form).

The JWT it returns is decoded here with the registry's own public key, so every claim is
checked as the registry will check it; `access` must be the intersection of what was asked
and what the token may do."""

import datetime
import re
import time

import jwt
import pytest
from django.conf import settings
from django.utils import timezone

from customers.models import AccessToken
from customers.services import token_mint, token_revoke
from customers.tokens import secret_prefix
from registry.models import Repository
from registry.scopes import Scope, scope_parse, scopes_parse
from registry.signing import signing_keys
from tests.conftest import basic
from tests.support.registry_client import errors, image_manifest, put_manifest

pytestmark = pytest.mark.django_db
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def get_token(client, *scopes: str, secret: str | None = None, user: str = "ci", **params):
    """GET /v2/token with Basic credentials (none when `secret` is None)."""
    headers = {"HTTP_AUTHORIZATION": basic(secret, user)} if secret is not None else {}
    query = {"service": settings.REGISTRY_SERVICE, "scope": list(scopes), **params}
    return client.get("/v2/token", query, **headers)


def decode(token: str) -> dict:
    _, public, _ = signing_keys()
    return jwt.decode(
        token,
        public,
        algorithms=["ES256"],
        audience=settings.REGISTRY_SERVICE,
        issuer=settings.REGISTRY_TOKEN_ISSUER,
    )


def access(response) -> dict:
    """The `access` claim as {(type, name): [actions]}."""
    assert response.status_code == 200, response.content
    claims = decode(response.json()["token"])
    return {(e["type"], e["name"]): e["actions"] for e in claims["access"]}


@pytest.fixture
def acme_app(client):
    """acme/app with one tagged image, pushed by acme's CI."""
    _, raw = image_manifest(client, "acme/app")
    assert put_manifest(client, "acme/app", "v1", raw).status_code == 201
    return Repository.objects.get(name="acme/app")


# --- the response and the JWT ---------------------------------------------------------


def test_response_fields(anonymous_client, push_secret):
    before = timezone.now().replace(microsecond=0)
    response = get_token(anonymous_client, "repository:acme/app:pull", secret=push_secret)
    assert response.status_code == 200
    body = response.json()
    assert body["token"] == body["access_token"]
    assert body["expires_in"] == 300
    assert RFC3339.match(body["issued_at"]), body["issued_at"]
    issued = datetime.datetime.fromisoformat(body["issued_at"].replace("Z", "+00:00"))
    assert before <= issued <= timezone.now()
    assert response["Cache-Control"] == "no-store"
    assert "refresh_token" not in body


def test_jwt_header_and_claims(anonymous_client, push_secret):
    body = get_token(anonymous_client, "repository:acme/app:pull", secret=push_secret).json()
    header = jwt.get_unverified_header(body["token"])
    assert header["alg"] == "ES256"
    assert header["kid"] == signing_keys()[2]
    claims = decode(body["token"])
    assert claims["iss"] == settings.REGISTRY_TOKEN_ISSUER
    assert claims["sub"] == secret_prefix(push_secret)
    assert AccessToken.objects.filter(prefix=claims["sub"]).exists()
    assert claims["aud"] == settings.REGISTRY_SERVICE
    assert claims["exp"] - claims["iat"] == 300
    assert claims["nbf"] <= claims["iat"] <= time.time() + 1
    assert abs(claims["iat"] - time.time()) < 10
    assert re.fullmatch(r"[0-9a-f]{32}", claims["jti"])


def test_jti_is_unique_per_call(anonymous_client, push_secret):
    jtis = {
        decode(get_token(anonymous_client, secret=push_secret).json()["token"])["jti"]
        for _ in range(5)
    }
    assert len(jtis) == 5


def test_username_is_free_form(anonymous_client, push_secret):
    for user in ("ci", "whoever", ""):
        response = get_token(
            anonymous_client, "repository:acme/app:pull", secret=push_secret, user=user
        )
        assert access(response) == {("repository", "acme/app"): ["pull"]}


# --- access: the intersection of asked and allowed ------------------------------------


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        ("repository:acme/app:pull,push", ["pull", "push"]),
        ("repository:acme/app:pull,push,delete", ["delete", "pull", "push"]),
        ("repository:acme/app:*", ["delete", "pull", "push"]),
        ("repository:acme/app:pull", ["pull"]),
        ("repository:acme/new/nested:push", ["push"]),  # not created yet: still its namespace
    ],
)
def test_push_token_gets_what_it_asks_in_its_namespace(
    anonymous_client, push_secret, scope, expected
):
    name = scope.split(":")[1]
    assert access(get_token(anonymous_client, scope, secret=push_secret)) == {
        ("repository", name): expected
    }


def test_push_token_gets_nothing_in_another_vendors_namespace(anonymous_client, push_secret):
    response = get_token(anonymous_client, "repository:other/app:pull,push", secret=push_secret)
    assert access(response) == {("repository", "other/app"): []}
    assert response.json()["scope"] == "repository:other/app:"


def test_pull_token_gets_pull_only(anonymous_client, pull_secret, acme_app):
    response = get_token(
        anonymous_client, "repository:acme/app:pull,push,delete", secret=pull_secret
    )
    assert access(response) == {("repository", "acme/app"): ["pull"]}
    assert decode(response.json()["token"])["sub"] == secret_prefix(pull_secret)


def test_pull_token_gets_nothing_of_another_vendor(anonymous_client, pull_secret):
    response = get_token(anonymous_client, "repository:initech/app:pull", secret=pull_secret)
    assert access(response) == {("repository", "initech/app"): []}


def test_narrowed_push_token(anonymous_client, vendor):
    secret = token_mint(
        vendor=vendor,
        kind="push",
        name="narrow",
        repository_patterns=["app"],
        actions=["pull", "push"],
    ).secret
    response = get_token(
        anonymous_client,
        "repository:acme/app:pull,push,delete",
        "repository:acme/other:pull",
        secret=secret,
    )
    assert access(response) == {
        ("repository", "acme/app"): ["pull", "push"],
        ("repository", "acme/other"): [],
    }


@pytest.mark.parametrize("secret_fixture", ["push_secret", "pull_secret"])
def test_catalog_is_granted_to_authenticated_callers(anonymous_client, request, secret_fixture):
    secret = request.getfixturevalue(secret_fixture)
    response = get_token(anonymous_client, "registry:catalog:*", secret=secret)
    assert access(response) == {("registry", "catalog"): ["*"]}
    assert response.json()["scope"] == "registry:catalog:*"


def test_catalog_is_not_granted_to_anonymous(anonymous_client):
    response = get_token(anonymous_client, "registry:catalog:*")
    assert access(response) == {}
    assert response.json()["scope"] == ""


def test_repeated_scope_parameters(anonymous_client, push_secret):
    response = get_token(
        anonymous_client,
        "repository:acme/a:pull",
        "repository:acme/b:push",
        "registry:catalog:*",
        secret=push_secret,
    )
    assert access(response) == {
        ("repository", "acme/a"): ["pull"],
        ("repository", "acme/b"): ["push"],
        ("registry", "catalog"): ["*"],
    }


def test_scope_name_with_host_and_port_is_parsed_from_both_ends():
    assert scope_parse("repository:localhost:5000/acme/app:pull,push") == Scope(
        "repository", "localhost:5000/acme/app", frozenset({"pull", "push"})
    )
    assert scope_parse("repository(plugin):acme/app:pull") == Scope(
        "repository", "acme/app", frozenset({"pull"})
    )
    assert scopes_parse(["repository:acme/a:pull repository:acme/b:push", "bogus"]) == [
        Scope("repository", "acme/a", frozenset({"pull"})),
        Scope("repository", "acme/b", frozenset({"push"})),
    ]


def test_scope_with_host_and_port_grants_nothing_by_mistake(anonymous_client, push_secret):
    """A naive split on ':' would read the name as 'localhost' and the actions as
    '5000/acme/app'; the name with a host is not one of ours, so nothing is granted."""
    response = get_token(
        anonymous_client,
        "repository:localhost:5000/acme/app:pull,push",
        "repository:acme/app:pull",
        secret=push_secret,
    )
    granted = access(response)
    assert granted[("repository", "acme/app")] == ["pull"]
    assert ("repository", "localhost") not in granted
    assert all(not actions for key, actions in granted.items() if key[1] != "acme/app")


# --- anonymous ------------------------------------------------------------------------


def test_anonymous_gets_no_actions_on_a_private_repository(anonymous_client, acme_app):
    response = get_token(anonymous_client, "repository:acme/app:pull")
    assert access(response) == {("repository", "acme/app"): []}
    assert decode(response.json()["token"])["sub"] == ""


def test_anonymous_gets_pull_on_a_public_repository(anonymous_client, acme_app):
    Repository.objects.filter(pk=acme_app.pk).update(is_public=True)
    response = get_token(anonymous_client, "repository:acme/app:pull,push")
    assert access(response) == {("repository", "acme/app"): ["pull"]}


# --- refresh tokens and the OAuth2 POST form ------------------------------------------


def test_offline_token_returns_a_refresh_token(anonymous_client, push_secret):
    response = get_token(anonymous_client, secret=push_secret, offline_token="true")
    assert response.status_code == 200
    assert response.json()["refresh_token"] == push_secret


def oauth(client, **form):
    return client.post(
        "/v2/token", {"service": settings.REGISTRY_SERVICE, "client_id": "t", **form}
    )


def test_oauth_password_grant(anonymous_client, push_secret):
    response = oauth(
        anonymous_client,
        grant_type="password",
        username="ci",
        password=push_secret,
        scope="repository:acme/app:pull,push registry:catalog:*",
    )
    assert access(response) == {
        ("repository", "acme/app"): ["pull", "push"],
        ("registry", "catalog"): ["*"],
    }
    body = response.json()
    assert body["access_token"] == body["token"]
    assert body["expires_in"] == 300
    assert RFC3339.match(body["issued_at"])
    assert body["scope"] == "repository:acme/app:pull,push registry:catalog:*"
    assert "refresh_token" not in body


def test_oauth_password_grant_offline_returns_refresh_token(anonymous_client, push_secret):
    response = oauth(
        anonymous_client,
        grant_type="password",
        username="ci",
        password=push_secret,
        access_type="offline",
        scope="repository:acme/app:pull",
    )
    assert response.status_code == 200
    assert response.json()["refresh_token"] == push_secret


def test_oauth_refresh_token_grant(anonymous_client, pull_secret, acme_app):
    refresh = get_token(anonymous_client, secret=pull_secret, offline_token="true").json()[
        "refresh_token"
    ]
    response = oauth(
        anonymous_client,
        grant_type="refresh_token",
        refresh_token=refresh,
        scope="repository:acme/app:pull,push",
    )
    assert access(response) == {("repository", "acme/app"): ["pull"]}
    assert response.json()["refresh_token"] == refresh


# --- refusals -------------------------------------------------------------------------


def assert_unauthorized(response):
    assert response.status_code == 401, response.content
    assert errors(response) == ["UNAUTHORIZED"]
    assert response["WWW-Authenticate"].startswith("Basic ")
    assert "token" not in response.json()


def test_wrong_secret_is_401(anonymous_client, push_secret):
    wrong = push_secret[:-4] + ("AAAA" if not push_secret.endswith("AAAA") else "BBBB")
    assert_unauthorized(get_token(anonymous_client, "repository:acme/app:pull", secret=wrong))
    assert_unauthorized(get_token(anonymous_client, secret="not-a-token"))
    assert_unauthorized(
        oauth(anonymous_client, grant_type="password", username="ci", password=wrong)
    )
    assert_unauthorized(oauth(anonymous_client, grant_type="refresh_token", refresh_token=wrong))
    assert_unauthorized(oauth(anonymous_client, grant_type="password", username="ci"))


def test_bearer_credentials_on_the_token_endpoint_are_401(anonymous_client, push_secret):
    token = get_token(anonymous_client, secret=push_secret).json()["token"]
    response = anonymous_client.get("/v2/token", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert_unauthorized(response)


def test_unknown_service_is_400(anonymous_client, push_secret):
    response = get_token(anonymous_client, secret=push_secret, service="evil.example.com")
    assert response.status_code == 400
    assert errors(response) == ["UNSUPPORTED"]
    response = oauth(
        anonymous_client,
        grant_type="password",
        password=push_secret,
        service="evil.example.com",
    )
    assert response.status_code == 400
    assert errors(response) == ["UNSUPPORTED"]


@pytest.mark.parametrize("grant_type", ["", "client_credentials", "authorization_code"])
def test_bad_grant_type_is_400(anonymous_client, push_secret, grant_type):
    response = oauth(anonymous_client, grant_type=grant_type, password=push_secret)
    assert response.status_code == 400
    assert errors(response) == ["UNSUPPORTED"]


def test_revoked_token_gets_no_jwt(anonymous_client, vendor):
    minted = token_mint(vendor=vendor, kind="push", name="soon revoked")
    assert get_token(anonymous_client, secret=minted.secret).status_code == 200
    token_revoke(token=minted.token)
    assert_unauthorized(get_token(anonymous_client, secret=minted.secret))
    assert_unauthorized(
        oauth(anonymous_client, grant_type="refresh_token", refresh_token=minted.secret)
    )


def test_expired_token_gets_no_jwt(anonymous_client, vendor):
    minted = token_mint(vendor=vendor, kind="push", name="soon expired")
    AccessToken.objects.filter(pk=minted.token.pk).update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    assert_unauthorized(get_token(anonymous_client, secret=minted.secret))
    assert_unauthorized(oauth(anonymous_client, grant_type="password", password=minted.secret))


def test_a_repository_asked_twice_is_granted_once_with_actions_united(
    anonymous_client, push_secret, acme_app
):
    response = get_token(
        anonymous_client,
        "repository:acme/app:delete",
        "repository:acme/app:pull",
        secret=push_secret,
    )
    assert access(response) == {("repository", "acme/app"): ["delete", "pull"]}
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {response.json()['token']}"}
    tags = anonymous_client.get("/v2/acme/app/tags/list", **bearer)
    assert tags.json()["tags"] == ["v1"]
    deleted = anonymous_client.delete("/v2/acme/app/manifests/v1", **bearer)
    assert deleted.status_code == 202


def test_scopes_per_request_are_capped(anonymous_client, push_secret):
    scopes = [f"repository:acme/r{i}:pull" for i in range(100)]
    granted = access(get_token(anonymous_client, *scopes, secret=push_secret))
    assert len(granted) == 32


# --- limits: token size and failed secrets ----------------------------------------------


def test_a_token_for_many_long_scopes_stays_small_enough_for_a_header(
    anonymous_client, push_secret
):
    """32 scopes of 250-character names asked at once: granted until the names reach
    2 KB, so the JWT stays far below the 8 KB one request header may carry."""
    names = [f"acme/{i:02d}{'x' * 243}" for i in range(32)]
    response = get_token(anonymous_client, *[f"repository:{n}:pull,push" for n in names],
                         secret=push_secret)  # fmt: skip
    granted = access(response)
    assert list(granted) == [("repository", n) for n in names[:8]]
    assert len(response.json()["token"]) < 4096


def test_failed_secrets_from_one_address_are_refused_for_the_rest_of_the_minute(
    anonymous_client, push_secret, settings
):
    settings.REGISTRY_AUTH_FAILURES_PER_MINUTE = 5
    if time.time() % 60 > 55:  # the count is per clock minute: start inside one
        time.sleep(60.1 - time.time() % 60)
    wrong = "distr_push_" + "x" * 43
    for _ in range(5):
        response = get_token(anonymous_client, "registry:catalog:*", secret=wrong)
        assert response.status_code == 401
    refused = get_token(anonymous_client, "registry:catalog:*", secret=push_secret)
    assert refused.status_code == 429
    assert refused.json() == {
        "errors": [
            {
                "code": "TOOMANYREQUESTS",
                "message": "too many failed authentications from your address; "
                "try again in a minute",
            }
        ]
    }
    assert 1 <= int(refused["Retry-After"]) <= 60
    registry = anonymous_client.get("/v2/_catalog", HTTP_AUTHORIZATION=basic(push_secret))
    assert registry.status_code == 429 and errors(registry) == ["TOOMANYREQUESTS"]
    other = anonymous_client.get(
        "/v2/token",
        {"service": settings.REGISTRY_SERVICE},
        HTTP_AUTHORIZATION=basic(push_secret),
        REMOTE_ADDR="10.9.8.7",
    )
    assert other.status_code == 200
