"""The three hottest registry reads, answered at the WSGI level: manifest GET and HEAD and
blob HEAD (what every `docker pull` and every layer-existence check of a push sends).

Django's handler costs about half of such a request's CPU in distr's own code (request
object, signals' dispatch machinery, URL resolution, six middleware layers, the response
object; bench/wsgi_cost.py measures it). These requests need none of its generality, so
`fast_read` answers them itself, through the same code that decides and answers on the
general path:

- access: `registry.views.request_authorize` (token verification, liveness against the
  database's change generations, the license decision), as `RegistryView.dispatch` calls it;
- the answer: `registry.views.manifest_read` and `blob_head_read` (headers, body, the pull
  recorded for analytics), which the views also build their responses from;
- around it, what the registry's middleware chain (settings.REGISTRY_MIDDLEWARE) does: the
  client's address behind trusted proxies, the request id, the request metrics and log
  line when the response closes, the Host gate, the security headers; and Django's
  request_started / request_finished signals (database connection upkeep).

Only successes are answered here. Anything else returns None before a byte is sent, and
the caller hands the request to Django's registry handler, which does it again and
answers as always: an error with its challenge, a Host that may be a vendor's domain, an
HTTPS redirect, Basic credentials (their failures are audited: they must run once), a
path that is not plainly ASCII. Reads change nothing before they succeed (the pull event
is recorded last), so doing one again is safe. tests/distr/test_fast_reads.py holds
the two paths to the same status, headers and body.
"""

import re
import time

from django.conf import settings
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.http.request import split_domain_port, validate_host

from ops import middleware as ops_middleware
from registry.errors import RegistryError
from registry.views import API_VERSION_HEADER, blob_head_read, manifest_read, request_authorize

# The same patterns as registry/urls.py (registry-manifest, registry-blob), anchored on
# PATH_INFO; routes listed before them there cannot match these paths, except the upload
# routes, whose paths give a blob "digest" that fails to parse and so go to Django.
_MANIFEST = re.compile(r"/v2/(?P<name>.+?)/manifests/(?P<reference>[^/]+)")
_BLOB = re.compile(r"/v2/(?P<name>.+?)/blobs/(?P<digest>[^/]+)")
# What the fast path stands in for; another chain in settings turns it off.
MIRRORED_MIDDLEWARE = [
    "ops.middleware.ClientAddressMiddleware",
    "ops.middleware.ProbeMiddleware",  # answers only /healthz, /readyz, /metrics
    "ops.middleware.RequestLogMiddleware",
    "portal.hosts.HostGateMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]


class ReadRequest:
    """What the shared read code uses of a request (the views get a WSGIRequest)."""

    __slots__ = ("META", "method", "path", "principal", "request_id", "resolver_match")

    def __init__(self, environ: dict, route: str, kwargs: dict):
        self.META = environ.copy()  # changed below; Django gets the original if it answers
        self.method = environ["REQUEST_METHOD"]
        self.path = environ["PATH_INFO"]
        self.principal = None
        self.resolver_match = _Route(route, kwargs)


class _Route:
    __slots__ = ("url_name", "kwargs")

    def __init__(self, url_name: str, kwargs: dict):
        self.url_name, self.kwargs = url_name, kwargs


class _Body(list):
    """The response body; gunicorn calls close() when it has sent it (or the client left),
    which is when the general path logs and counts the request too."""

    def __init__(self, body: bytes, on_close):
        super().__init__([body] if body else [])
        self._on_close = on_close

    def close(self) -> None:
        try:
            self._on_close()
        finally:
            signals.request_finished.send(sender=WSGIHandler)


def enabled() -> bool:
    return settings.REGISTRY_FAST_READS and settings.REGISTRY_MIDDLEWARE == MIRRORED_MIDDLEWARE


def fast_read(environ: dict, start_response):
    """The WSGI response for a successful hot read, or None: let Django's handler answer."""
    method = environ.get("REQUEST_METHOD")
    if method != "GET" and method != "HEAD":
        return None
    path = environ.get("PATH_INFO", "")
    match = _MANIFEST.fullmatch(path)
    if match is not None:
        route, resource = "registry-manifest", "manifest"
    elif method == "HEAD" and (match := _BLOB.fullmatch(path)) is not None:
        route, resource = "registry-blob", "blob"
    else:
        return None
    authorization = environ.get("HTTP_AUTHORIZATION")
    if authorization and not authorization.startswith("Bearer "):
        return None  # Basic: a failed check is audited, so it must run exactly once
    if not path.isascii() or not enabled():
        return None
    secure = _is_secure(environ)
    if settings.SECURE_SSL_REDIRECT and not secure:
        return None  # Django redirects (the exempt patterns are its business)
    if not _host_is_configured(environ, secure):
        return None  # a vendor's portal domain, or a 400: the Host gate decides
    started = time.perf_counter()
    signals.request_started.send(sender=WSGIHandler, environ=environ)
    kwargs = match.groupdict()
    request = ReadRequest(environ, route, kwargs)
    reset = ops_middleware.client_address_bind(request.META)
    try:
        request.principal = request_authorize(
            request,
            name=kwargs["name"],
            action="pull",
            reference=kwargs.get("reference") or kwargs.get("digest"),
            resource=resource,
        )
        if route == "registry-manifest":
            headers, body = manifest_read(request, kwargs["name"], kwargs["reference"])
        else:
            headers, body = blob_head_read(kwargs["name"], kwargs["digest"]), b""
    except RegistryError:
        return None  # Django's handler answers it: the same error, with its challenge
    except Exception:  # noqa: BLE001 - Django's handler logs it and answers the 500
        return None
    finally:
        ops_middleware.client_address_unbind(reset)
    request.request_id = ops_middleware.request_id_for(request.META)
    headers[API_VERSION_HEADER[0]] = API_VERSION_HEADER[1]
    headers["X-Request-ID"] = request.request_id
    response_headers = [*headers.items(), *_security_headers(secure)]
    start_response("200 OK", response_headers)

    def finished():
        ops_middleware.request_record(
            request,
            status=200,
            sent=int(headers["Content-Length"]),
            started=started,
        )

    return _Body(body, finished)


def _is_secure(environ: dict) -> bool:
    """HttpRequest.is_secure(), from the environ."""
    if settings.SECURE_PROXY_SSL_HEADER:
        header, secure_value = settings.SECURE_PROXY_SSL_HEADER
        value = environ.get(header)
        if value is not None:
            return value.split(",", 1)[0].strip() == secure_value
    return environ.get("wsgi.url_scheme") == "https"


def _host_is_configured(environ: dict, secure: bool) -> bool:
    """The Host is one of DISTR_ALLOWED_HOSTS (HostGateMiddleware's first test, on
    HttpRequest.get_host()'s raw host)."""
    if settings.USE_X_FORWARDED_HOST and "HTTP_X_FORWARDED_HOST" in environ:
        host = environ["HTTP_X_FORWARDED_HOST"]
    elif "HTTP_HOST" in environ:
        host = environ["HTTP_HOST"]
    else:
        host, port = environ["SERVER_NAME"], str(environ.get("SERVER_PORT", ""))
        if port != ("443" if secure else "80"):
            host = f"{host}:{port}"
    domain, _ = split_domain_port(host)
    return (
        bool(domain)
        and validate_host(domain, settings.ALLOWED_HOSTS)
        and validate_host(domain, settings.DISTR_ALLOWED_HOSTS)
    )


def _security_headers(secure: bool) -> list[tuple[str, str]]:
    """What SecurityMiddleware and XFrameOptionsMiddleware add to a registry response."""
    headers = []
    if settings.SECURE_HSTS_SECONDS and secure:
        sts = f"max-age={settings.SECURE_HSTS_SECONDS}"
        if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
            sts += "; includeSubDomains"
        if settings.SECURE_HSTS_PRELOAD:
            sts += "; preload"
        headers.append(("Strict-Transport-Security", sts))
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        headers.append(("X-Content-Type-Options", "nosniff"))
    policy = settings.SECURE_REFERRER_POLICY
    if policy:
        values = [v.strip() for v in policy.split(",")] if isinstance(policy, str) else policy
        headers.append(("Referrer-Policy", ",".join(values)))
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        headers.append(("Cross-Origin-Opener-Policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY))
    headers.append(("X-Frame-Options", getattr(settings, "X_FRAME_OPTIONS", "DENY").upper()))
    return headers
