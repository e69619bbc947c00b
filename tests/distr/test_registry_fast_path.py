"""The registry's fast path (distr/wsgi.py's short chain, the per-process JWT and key
memos, request ids without uuid4) leaves nothing behind and decides exactly as the
general code: through the real WSGI entry point, a customer's manifest GET and blob HEAD
with a JWT create no session, set no cookie, and are refused from the first request after
a revocation or a license change commits, though the JWT is still in the verified cache."""

import io

import pytest
from django.contrib.sessions.models import Session

from customers.models import AccessToken
from customers.services import token_revoke
from distr import wsgi
from registry import signing
from tests.conftest import license_grant
from tests.distr.conftest import jwt_for
from tests.support.registry_client import image_manifest, put_manifest, sha256

pytestmark = pytest.mark.django_db(transaction=True)  # the real handler closes connections
OCI = "application/vnd.oci.image.manifest.v1+json"


def call(path: str, method: str = "GET", **headers) -> tuple[int, dict, bytes]:
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.url_scheme": "http",
        **{f"HTTP_{k.upper()}": v for k, v in headers.items()},
    }
    seen = {}

    def start_response(status, response_headers, exc_info=None):
        seen["status"], seen["headers"] = status, response_headers

    response = wsgi.application(environ, start_response)
    try:
        body = b"".join(response)
    finally:
        response.close()  # what gunicorn does: runs the request log's closer
    names = [name.lower() for name, _ in seen["headers"]]
    assert "set-cookie" not in names, seen["headers"]
    return int(seen["status"].split()[0]), dict(seen["headers"]), body


@pytest.fixture
def pushed(client):
    """acme/app:1.0 (one layer) and acme/app:2.0 (that layer and one of its own); returns
    {tag: (manifest digest, its last layer's digest)}."""
    tags = {}
    for layers, tag in enumerate(("1.0", "2.0"), start=1):
        manifest, raw = image_manifest(client, "acme/app", layers=layers)
        assert put_manifest(client, "acme/app", tag, raw).status_code == 201
        tags[tag] = (sha256(raw), manifest["layers"][-1]["digest"])
    return tags


def test_customer_reads_leave_no_session_and_no_cookie(customer, pull_secret, pushed):
    license_grant(customer, "acme/app", "exact:1.0")
    token = jwt_for(pull_secret, "repository:acme/app:pull")
    sessions = Session.objects.count()
    ids = set()
    for _ in range(3):  # the second and third hit the verified-JWT memo
        status, headers, body = call(
            "/v2/acme/app/manifests/1.0", AUTHORIZATION=f"Bearer {token}", ACCEPT=OCI
        )
        assert status == 200, body
        assert headers["Docker-Content-Digest"] == pushed["1.0"][0]
        assert "Vary" not in headers
        ids.add(headers["X-Request-ID"])
        status, headers, body = call(
            f"/v2/acme/app/blobs/{pushed['1.0'][1]}", "HEAD", AUTHORIZATION=f"Bearer {token}"
        )
        assert (status, body) == (200, b"")
        ids.add(headers["X-Request-ID"])
    assert Session.objects.count() == sessions
    assert len(ids) == 6 and all(len(rid) == 32 and int(rid, 16) >= 0 for rid in ids)
    # The entitlement still decides on the fast path: 2.0 is not licensed.
    status, _, _ = call("/v2/acme/app/manifests/2.0", AUTHORIZATION=f"Bearer {token}", ACCEPT=OCI)
    assert status == 403
    status, _, _ = call(
        f"/v2/acme/app/blobs/{pushed['2.0'][1]}", "HEAD", AUTHORIZATION=f"Bearer {token}"
    )
    assert status == 403


def test_a_cached_jwt_is_refused_right_after_its_token_is_revoked(customer, pull_secret, pushed):
    license_grant(customer, "acme/app", "glob:*")
    token = jwt_for(pull_secret, "repository:acme/app:pull")
    path = "/v2/acme/app/manifests/2.0"
    assert call(path, AUTHORIZATION=f"Bearer {token}", ACCEPT=OCI)[0] == 200
    assert signing._verified._items, "the JWT is in the verified cache"
    token_revoke(token=AccessToken.objects.get(customer=customer))
    status, headers, _ = call(path, AUTHORIZATION=f"Bearer {token}", ACCEPT=OCI)
    assert status == 401
    assert 'error="invalid_token"' in headers["WWW-Authenticate"]


def test_a_cached_jwt_follows_a_license_change_at_once(customer, pull_secret, pushed):
    from licensing.services import license_set_status

    license = license_grant(customer, "acme/app", "glob:*")
    token = jwt_for(pull_secret, "repository:acme/app:pull")
    head = f"/v2/acme/app/blobs/{pushed['2.0'][1]}"
    assert call(head, "HEAD", AUTHORIZATION=f"Bearer {token}")[0] == 200
    license_set_status(license=license, status="suspended")
    assert call(head, "HEAD", AUTHORIZATION=f"Bearer {token}")[0] == 403
    license_set_status(license=license, status="active")
    assert call(head, "HEAD", AUTHORIZATION=f"Bearer {token}")[0] == 200


def test_the_verified_cache_is_checked_against_the_current_key(push_secret, pushed, settings):
    """A hit counts only for the key, issuer and audience it was verified with."""
    token = jwt_for(push_secret, "repository:acme/app:pull")
    path = "/v2/acme/app/manifests/1.0"
    assert call(path, AUTHORIZATION=f"Bearer {token}", ACCEPT=OCI)[0] == 200
    settings.REGISTRY_SERVICE = "elsewhere.example.com"  # the JWT's audience no longer
    status, headers, _ = call(path, AUTHORIZATION=f"Bearer {token}", ACCEPT=OCI)
    assert status == 401
    assert 'error="invalid_token"' in headers["WWW-Authenticate"]
