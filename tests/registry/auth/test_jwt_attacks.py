"""Bearer JWTs on the registry endpoints: a valid one works; forged, stale, misdirected or
tampered ones are refused with 401 and `error="invalid_token"`; a valid one that does not
cover the request is refused with 401 and `error="insufficient_scope"` naming the scope.

Forged tokens are built by `forge`, which by default makes a token the registry accepts
(`test_forge_control_is_accepted`), so each attack changes exactly one thing."""

import base64
import datetime
import hashlib
import hmac
import json
import re
import time
import uuid
from types import SimpleNamespace

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.test import Client

from customers.tokens import secret_prefix
from registry.models import Manifest, Repository
from registry.signing import signing_keys
from tests.conftest import basic
from tests.support.registry_client import errors, image_manifest, put_manifest, sha256

pytestmark = pytest.mark.django_db
REALM = "http://127.0.0.1:8000/v2/token"  # the public URL, not the Host header


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_json(value: dict) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def claims_for(subject: str, access: list[dict], **overrides) -> dict:
    now = int(time.time())
    claims = {
        "iss": settings.REGISTRY_TOKEN_ISSUER,
        "sub": subject,
        "aud": settings.REGISTRY_SERVICE,
        "exp": now + 300,
        "nbf": now,
        "iat": now,
        "jti": uuid.uuid4().hex,
        "access": access,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def forge(subject: str, access: list[dict], *, key=None, **overrides) -> str:
    private, _, kid = signing_keys()
    return jwt.encode(
        claims_for(subject, access, **overrides),
        key or private,
        algorithm="ES256",
        headers={"kid": kid},
    )


def pull_access(name: str, *actions: str) -> list[dict]:
    return [{"type": "repository", "name": name, "actions": list(actions or ["pull"])}]


def issued(secret: str, *scopes: str) -> str:
    """A real JWT from /v2/token."""
    response = Client().get(
        "/v2/token",
        {"service": settings.REGISTRY_SERVICE, "scope": list(scopes)},
        HTTP_AUTHORIZATION=basic(secret),
    )
    assert response.status_code == 200, response.content
    return response.json()["token"]


def bearer(token: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def assert_challenge(response, error: str | None, scope: str | None = None):
    assert response.status_code == 401, response.content
    if response.content:  # HEAD has no body
        assert errors(response) == ["UNAUTHORIZED"]
    challenge = response["WWW-Authenticate"]
    assert challenge.startswith(f'Bearer realm="{REALM}",service="{settings.REGISTRY_SERVICE}"')
    if error is None:
        assert "error=" not in challenge
    else:
        assert f',error="{error}"' in challenge
    if scope is not None:
        assert f',scope="{scope}"' in challenge


@pytest.fixture
def image(client):
    """acme/app:v1 and an existing, empty-of-tags acme/other; returns the manifest digest."""
    _, raw = image_manifest(client, "acme/app")
    assert put_manifest(client, "acme/app", "v1", raw).status_code == 201
    _, other = image_manifest(client, "acme/other")
    assert put_manifest(client, "acme/other", "v1", other).status_code == 201
    return sha256(raw)


@pytest.fixture
def prefix(push_secret) -> str:
    return secret_prefix(push_secret)


# --- what works -----------------------------------------------------------------------


def test_issued_jwt_works(push_secret, image):
    client = bearer(issued(push_secret, "repository:acme/app:pull"))
    response = client.get("/v2/acme/app/manifests/v1")
    assert response.status_code == 200
    assert response["Docker-Content-Digest"] == image
    assert client.get("/v2/acme/app/tags/list").json() == {"name": "acme/app", "tags": ["v1"]}
    assert client.get("/v2/").status_code == 200


def test_forge_control_is_accepted(prefix, image):
    """The forging helper makes valid tokens, so the attacks below differ in one thing."""
    response = bearer(forge(prefix, pull_access("acme/app"))).get("/v2/acme/app/tags/list")
    assert response.status_code == 200


def follow_challenge(response, secret: str | None) -> Client:
    """Do what a Docker client does with a 401: fetch a token from the realm for the
    challenged service and scope, and retry with it."""
    params = dict(re.findall(r'(\w+)="([^"]*)"', response["WWW-Authenticate"]))
    assert params["realm"] == REALM
    query = {"service": params["service"], "scope": params.get("scope", "")}
    auth = {"HTTP_AUTHORIZATION": basic(secret)} if secret else {}
    token = Client().get("/v2/token", query, **auth)
    assert token.status_code == 200, token.content
    return bearer(token.json()["token"])


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("get", "/v2/acme/app/manifests/v1", 200),
        ("get", "/v2/_catalog", 200),
        ("delete", None, 202),
    ],
)
def test_following_the_challenge_grants_the_request(push_secret, image, method, path, status):
    path = path or f"/v2/acme/app/manifests/{image}"
    first = getattr(bearer(issued(push_secret)), method)(path)  # a JWT granting nothing
    assert_challenge(first, "insufficient_scope")
    retried = getattr(follow_challenge(first, push_secret), method)(path)
    assert retried.status_code == status, retried.content


def test_anonymous_token_pulls_a_public_repository_only(image):
    """Docker pings /v2/, gets the challenge, and fetches an anonymous token for the
    scope it needs before pulling."""
    Repository.objects.filter(name="acme/app").update(is_public=True)
    assert Client().get("/v2/acme/app/manifests/v1").status_code == 200  # no token needed
    response = Client().get(
        "/v2/token",
        {"service": settings.REGISTRY_SERVICE, "scope": "repository:acme/app:pull"},
    )
    client = bearer(response.json()["token"])
    pulled = client.get("/v2/acme/app/manifests/v1")
    assert pulled.status_code == 200
    assert pulled["Docker-Content-Digest"] == image
    assert client.get("/v2/").status_code == 200
    assert_challenge(client.get("/v2/acme/other/manifests/v1"), "insufficient_scope")
    assert_challenge(client.get("/v2/_catalog"), None, "registry:catalog:*")
    first = Client().get("/v2/acme/other/manifests/v1")  # private: challenged
    retried = follow_challenge(first, None).get("/v2/acme/other/manifests/v1")
    assert_challenge(retried, "insufficient_scope", "repository:acme/other:pull")


# --- invalid tokens -------------------------------------------------------------------


def test_alg_none_is_refused(prefix, image):
    _, _, kid = signing_keys()
    header = {"alg": "none", "typ": "JWT", "kid": kid}
    payload = claims_for(prefix, pull_access("acme/app"))
    for token in (
        f"{b64url_json(header)}.{b64url_json(payload)}.",
        f"{b64url_json({**header, 'alg': 'None'})}.{b64url_json(payload)}.",
    ):
        assert_challenge(bearer(token).get("/v2/acme/app/tags/list"), "invalid_token")


def test_hs256_signed_with_the_public_key_is_refused(prefix, image):
    """The classic key-confusion attack: HMAC keyed with the (public) verification key."""
    _, public, kid = signing_keys()
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = b64url_json({"alg": "HS256", "typ": "JWT", "kid": kid})
    payload = b64url_json(claims_for(prefix, pull_access("acme/app")))
    signing_input = f"{header}.{payload}".encode()
    for secret in (pem, pem.strip()):
        signature = b64url(hmac.new(secret, signing_input, hashlib.sha256).digest())
        token = f"{header}.{payload}.{signature}"
        assert_challenge(bearer(token).get("/v2/acme/app/tags/list"), "invalid_token")


def test_token_signed_by_another_key_with_our_kid_is_refused(prefix, image):
    other = ec.generate_private_key(ec.SECP256R1())
    token = forge(prefix, pull_access("acme/app"), key=other)
    assert jwt.get_unverified_header(token)["kid"] == signing_keys()[2]
    assert_challenge(bearer(token).get("/v2/acme/app/tags/list"), "invalid_token")


def test_token_carrying_its_own_key_is_refused(prefix, image):
    """An embedded `jwk` header (the attacker's public key) must not be trusted."""
    other = ec.generate_private_key(ec.SECP256R1())
    embedded = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(other.public_key()))
    token = jwt.encode(
        claims_for(prefix, pull_access("acme/app")),
        other,
        algorithm="ES256",
        headers={"jwk": embedded},
    )
    assert_challenge(bearer(token).get("/v2/acme/app/tags/list"), "invalid_token")


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"exp": -120, "iat": -420, "nbf": -420}, id="expired-2-minutes-ago"),
        pytest.param({"nbf": 120, "iat": 120, "exp": 420}, id="not-valid-for-2-minutes"),
    ],
)
def test_token_outside_its_validity_is_refused(prefix, image, overrides):
    now = int(time.time())
    token = forge(prefix, pull_access("acme/app"), **{k: now + v for k, v in overrides.items()})
    assert_challenge(bearer(token).get("/v2/acme/app/tags/list"), "invalid_token")


def test_token_within_the_leeway_is_accepted(prefix, image):
    """Leeway is 30 s: a token expired 10 s ago still works (and proves the cases above
    fail for their time claims, not something else)."""
    now = int(time.time())
    token = forge(prefix, pull_access("acme/app"), exp=now - 10, iat=now - 310, nbf=now - 310)
    assert bearer(token).get("/v2/acme/app/tags/list").status_code == 200


def test_a_once_verified_token_still_expires(push_secret, image, monkeypatch):
    """Verified JWTs are cached per process; the cache must not outlive `exp`."""
    token = issued(push_secret, "repository:acme/app:pull")
    assert bearer(token).get("/v2/acme/app/tags/list").status_code == 200  # cached now
    later = time.time() + 300 + 31  # past exp and the 30 s leeway

    class LaterDatetime(datetime.datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime.datetime.fromtimestamp(later, tz)

    monkeypatch.setattr("registry.signing.time", SimpleNamespace(time=lambda: later))
    monkeypatch.setattr("jwt.api_jwt.datetime", LaterDatetime)
    assert_challenge(bearer(token).get("/v2/acme/app/tags/list"), "invalid_token")


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"aud": "evil.example.com"}, id="wrong-audience"),
        pytest.param({"aud": None}, id="no-audience"),
        pytest.param({"iss": "someone-else"}, id="wrong-issuer"),
        pytest.param({"jti": None}, id="no-jti"),
        pytest.param({"exp": None}, id="no-exp"),
    ],
)
def test_token_with_wrong_or_missing_claims_is_refused(prefix, image, overrides):
    token = forge(prefix, pull_access("acme/app"), **overrides)
    assert_challenge(bearer(token).get("/v2/acme/app/tags/list"), "invalid_token")


def test_payload_edited_to_widen_the_scope_is_refused(push_secret, image):
    token = issued(push_secret, "repository:acme/app:pull")
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["access"] = pull_access("acme/app", "pull", "push", "delete")
    widened = f"{header}.{b64url_json(claims)}.{signature}"
    client = bearer(widened)
    assert_challenge(client.delete(f"/v2/acme/app/manifests/{image}"), "invalid_token")
    assert_challenge(client.get("/v2/acme/app/tags/list"), "invalid_token")
    assert Manifest.objects.filter(digest=image).exists()
    # the untouched token still works (the signature check, not the token, failed)
    assert bearer(token).get("/v2/acme/app/tags/list").status_code == 200


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "", "eyJhbGciOiJFUzI1NiJ9..", "x" * 5000])
def test_garbage_is_refused(image, token):
    assert_challenge(bearer(token).get("/v2/acme/app/tags/list"), "invalid_token")


def test_token_of_unknown_subject_is_refused(image):
    token = forge("distr_push_Nobody00", pull_access("acme/app"))
    assert_challenge(bearer(token).get("/v2/acme/app/tags/list"), "invalid_token")


# --- valid tokens that do not cover the request ---------------------------------------


def test_token_for_one_repository_used_on_another(push_secret, image):
    client = bearer(issued(push_secret, "repository:acme/app:pull"))
    response = client.get("/v2/acme/other/manifests/v1")
    assert_challenge(response, "insufficient_scope", "repository:acme/other:pull")
    assert response.json()["errors"][0]["detail"] == [
        {"Type": "repository", "Name": "acme/other", "Action": "pull"}
    ]
    head = client.head("/v2/acme/other/manifests/v1")
    assert_challenge(head, "insufficient_scope", "repository:acme/other:pull")


def test_pull_only_token_used_to_push(push_secret, image):
    client = bearer(issued(push_secret, "repository:acme/app:pull"))
    response = client.post(
        f"/v2/acme/app/blobs/uploads/?digest={sha256(b'x')}",
        data=b"x",
        content_type="application/octet-stream",
    )
    assert_challenge(response, "insufficient_scope", "repository:acme/app:pull,push")
    _, raw = image_manifest(Client(HTTP_AUTHORIZATION=basic(push_secret)), "acme/app")
    response = put_manifest(client, "acme/app", "v2", raw)
    assert_challenge(response, "insufficient_scope", "repository:acme/app:pull,push")
    response = client.delete(f"/v2/acme/app/manifests/{image}")
    assert_challenge(response, "insufficient_scope", "repository:acme/app:delete")
    assert Manifest.objects.filter(digest=image).exists()


def test_push_and_pull_token_can_push(push_secret, image):
    client = bearer(issued(push_secret, "repository:acme/app:pull,push"))
    response = client.post(
        f"/v2/acme/app/blobs/uploads/?digest={sha256(b'x')}",
        data=b"x",
        content_type="application/octet-stream",
    )
    assert response.status_code == 201


def test_catalog_needs_the_catalog_scope(push_secret, image):
    response = bearer(issued(push_secret, "repository:acme/app:pull")).get("/v2/_catalog")
    assert_challenge(response, "insufficient_scope", "registry:catalog:*")
    response = bearer(issued(push_secret, "registry:catalog:*")).get("/v2/_catalog")
    assert response.status_code == 200
    assert response.json() == {"repositories": ["acme/app", "acme/other"]}


def test_jwt_never_exceeds_the_token_rights(push_secret, prefix, image):
    """A validly signed JWT that grants more than its token may do (e.g. issued before a
    policy change) is still limited by the token: another vendor's repository is 403."""
    token = forge(prefix, pull_access("initech/app", "pull", "push"))
    response = bearer(token).get("/v2/initech/app/tags/list")
    assert response.status_code == 403
    assert errors(response) == ["DENIED"]


# --- the per-process memo of verified JWTs ---------------------------------------------


def new_pem() -> str:
    return (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )


def test_a_memoised_token_dies_with_its_rotated_out_key(push_secret, image, settings):
    """The memo of verified JWTs must not outlive the key that signed them."""
    token = issued(push_secret, "repository:acme/app:pull")
    assert bearer(token).get("/v2/acme/app/tags/list").status_code == 200  # memoised now
    old_kid = signing_keys()[2]
    settings.REGISTRY_TOKEN_KEY = new_pem()
    assert signing_keys()[2] != old_kid
    assert_challenge(bearer(token).get("/v2/acme/app/tags/list"), "invalid_token")
    fresh = issued(push_secret, "repository:acme/app:pull")  # the new key signs and verifies
    assert bearer(fresh).get("/v2/acme/app/tags/list").status_code == 200


@pytest.mark.parametrize(
    "setting, value",
    [
        pytest.param("REGISTRY_SERVICE", "other-registry.example.com", id="audience"),
        pytest.param("REGISTRY_TOKEN_ISSUER", "someone-else", id="issuer"),
    ],
)
def test_a_memoised_token_is_rechecked_against_changed_iss_and_aud(
    push_secret, image, settings, setting, value
):
    token = issued(push_secret, "repository:acme/app:pull")
    assert bearer(token).get("/v2/acme/app/tags/list").status_code == 200  # memoised now
    setattr(settings, setting, value)
    assert_challenge(bearer(token).get("/v2/acme/app/tags/list"), "invalid_token")
