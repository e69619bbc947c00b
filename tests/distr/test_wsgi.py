"""distr.wsgi: registry requests take the short middleware chain, everything else the
full one, and both answer as Django does (signals, errors, headers)."""

import io
import json
import types

import pytest

from distr import wsgi


def call(path: str, method: str = "GET", **headers) -> tuple[str, dict, bytes]:
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

    body = b"".join(wsgi.application(environ, start_response))
    return seen["status"], dict(seen["headers"]), body


def chain(handler) -> list[str]:
    """Middleware classes of a handler, outermost first (Django wraps each in a function
    that converts exceptions; the innermost layer is the handler's own method)."""
    names, layer = [], handler._middleware_chain
    while True:
        while isinstance(layer, types.FunctionType) and hasattr(layer, "__wrapped__"):
            layer = layer.__wrapped__
        if isinstance(layer, types.FunctionType | types.MethodType):
            return names
        names.append(f"{type(layer).__module__}.{type(layer).__name__}")
        layer = layer.get_response


def test_registry_handler_runs_only_the_registry_middleware(settings):
    assert chain(wsgi._registry) == settings.REGISTRY_MIDDLEWARE
    # the full chain's class-based part (allauth's middleware is a function)
    assert settings.MIDDLEWARE[: len(chain(wsgi._everything_else))] == chain(wsgi._everything_else)
    assert "django.contrib.sessions.middleware.SessionMiddleware" in chain(wsgi._everything_else)


@pytest.mark.django_db(transaction=True)  # the real handler closes connections
@pytest.mark.parametrize("path", ["/v2/", "/v2"])
def test_registry_requests_keep_logs_and_security_headers_and_set_no_cookie(path):
    status, headers, body = call(path)
    assert status == "401 Unauthorized"
    assert headers["WWW-Authenticate"].startswith('Bearer realm="http://127.0.0.1:8000/v2/token"')
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert len(headers["X-Request-ID"]) == 32
    assert "Set-Cookie" not in headers and "Vary" not in headers


@pytest.mark.django_db(transaction=True)  # the real handler closes connections
def test_other_paths_take_the_full_chain(vendor):
    status, headers, _ = call("/p/acme/accounts/login/")
    assert status == "200 OK"
    assert "csrftoken=" in headers["Set-Cookie"]
    assert headers["Content-Security-Policy"].startswith("default-src 'self'")
    status, _, _ = call("/v2foo")
    assert status == "404 Not Found"


@pytest.mark.django_db(transaction=True)  # the real handler closes connections
@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("PUT", "/v2/acme/app/manifests/a/b", "404 Not Found", "NOT_FOUND"),
        ("PUT", "/v2/acme/app/manifests/", "404 Not Found", "NOT_FOUND"),
        ("POST", "/v2/acme/app/blobs/uploads/x/y", "404 Not Found", "NOT_FOUND"),
        ("PUT", "/v2/ACME/app/manifests/1.0", "400 Bad Request", "NAME_INVALID"),
        ("DELETE", "/v2/acme/app/tags/list", "405 Method Not Allowed", "UNSUPPORTED"),
    ],
)
def test_registry_writes_to_bad_paths_get_oci_errors_not_a_csrf_page(method, path, status, code):
    """Registry clients send no CSRF cookie: whatever the path, a /v2 write is answered
    with an OCI error body, never Django's HTML 'CSRF verification failed' page."""
    got, headers, body = call(path, method=method)
    assert got == status
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body)["errors"][0]["code"] == code


@pytest.mark.django_db(transaction=True)
def test_api_token_requests_take_the_short_chain_and_browser_calls_the_full_one(vendor):
    from customers.services import token_mint

    secret = token_mint(vendor=vendor, kind="api", name="ci", scopes=["read"]).secret
    status, headers, body = call("/api/v1/customers/", AUTHORIZATION=f"Bearer {secret}")
    assert status == "200 OK"
    assert json.loads(body) == {"next": None, "previous": None, "results": []}
    assert "Vary" not in headers or "Cookie" not in headers["Vary"]  # no session touched
    status, headers, body = call("/api/v1/customers/", AUTHORIZATION="Bearer distr_api_wrong")
    assert status == "401 Unauthorized"
    assert headers["Content-Type"] == "application/problem+json"
    status, headers, _ = call("/api/v1/customers/")  # a browser without a session: full chain
    assert status == "401 Unauthorized"
    assert "Cookie" in headers.get("Vary", "")
