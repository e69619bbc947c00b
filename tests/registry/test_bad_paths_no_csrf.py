"""Every /v2 path answers with an OCI error body, never Django's HTML CSRF page.

Registry clients send no CSRF cookie. Under the full middleware chain (the test client,
`manage.py runserver`-style setups, any WSGI entry point other than distr.wsgi's split),
a write to a /v2 path that matched no endpoint reached the catch-all view, which had lost
its CSRF exemption by overriding `dispatch`, and got a 403 HTML page. Checked here with
the Django test client enforcing CSRF, and against a live gunicorn (distr.wsgi)."""

import json

import pytest
from django.test import Client

from tests.conftest import basic
from tests.support.server import live_http

# (method, path, status, code): paths that fail URL routing or name validation
BAD_WRITES = [
    ("PUT", "/v2/acme/app/manifests/a/b", 404, "NOT_FOUND"),
    ("PUT", "/v2/acme/app/manifests/", 404, "NOT_FOUND"),
    ("DELETE", "/v2/acme/app/manifests/a/b", 404, "NOT_FOUND"),
    ("PATCH", "/v2/acme/app/manifests/a/b", 404, "NOT_FOUND"),
    ("POST", "/v2/acme/app/blobs/uploads/x/y", 404, "NOT_FOUND"),
    ("PUT", "/v2/acme/app/blobs/uploads/x/y?digest=sha256:00", 404, "NOT_FOUND"),
    ("DELETE", "/v2/acme/app/blobs/a/b", 404, "NOT_FOUND"),
    ("POST", "/v2/acme/app", 404, "NOT_FOUND"),
    ("POST", "/v2/acme/app/", 404, "NOT_FOUND"),
    ("PUT", "/v2/acme/app/tags/list/", 404, "NOT_FOUND"),
    ("PUT", "/v2/ACME/app/manifests/1.0", 400, "NAME_INVALID"),
    ("POST", "/v2/acme/App/blobs/uploads/", 400, "NAME_INVALID"),
    ("PUT", "/v2/acme/app/manifests/-x", 400, "MANIFEST_INVALID"),
    ("DELETE", "/v2/acme/app/tags/list", 405, "UNSUPPORTED"),
    ("POST", "/v2/", 405, "UNSUPPORTED"),
    ("POST", "/v2/_catalog", 405, "UNSUPPORTED"),
]


def _oci_error(status: int, content_type: str, body: bytes, want_status: int, code: str):
    assert status == want_status, body[:300]
    assert content_type == "application/json"
    assert b"<html" not in body.lower()
    assert json.loads(body)["errors"][0]["code"] == code


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path", "status", "code"), BAD_WRITES)
def test_bad_writes_through_the_full_chain_get_oci_errors(push_secret, method, path, status, code):
    csrf_client = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=basic(push_secret))
    response = csrf_client.generic(method, path)
    _oci_error(response.status_code, response["Content-Type"], response.content, status, code)


# Without credentials: a path that is no endpoint, a name that cannot exist and a method
# the endpoint lacks are answered before authentication; the rest get the challenge.
NEEDS_AUTH = {("PUT", "/v2/acme/app/manifests/-x")}


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path", "status", "code"), BAD_WRITES)
def test_bad_writes_without_credentials_get_oci_errors(method, path, status, code):
    response = Client(enforce_csrf_checks=True).generic(method, path)
    if (method, path) in NEEDS_AUTH:
        status, code = 401, "UNAUTHORIZED"
        assert response["WWW-Authenticate"].startswith('Bearer realm="')
    _oci_error(response.status_code, response["Content-Type"], response.content, status, code)


@pytest.mark.parametrize(("method", "path", "status", "code"), BAD_WRITES)
def test_bad_writes_to_a_live_server_get_oci_errors(
    live_registry, live_credentials, method, path, status, code
):
    response = live_http.request(method, live_registry.url + path, timeout=30)
    _oci_error(
        response.status_code,
        response.headers["Content-Type"],
        response.content,
        status,
        code,
    )
