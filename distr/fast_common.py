"""What every WSGI fast path (distr/fast_reads.py, distr/fast_check_in.py) does around
its own answer, standing in for the short middleware chain (settings.REGISTRY_MIDDLEWARE)
and Django's handler: whether the request may take a fast path at all, the request
object the shared code reads, and the response's common headers, metrics and log line.

A fast path answers only what it is sure of. `admitted` says no (None) to anything the
chain would treat specially: another chain configured, a path that is not plainly
ASCII, an HTTPS redirect, a Host that is not one of distr's own (a vendor's portal
domain, or a 400); the caller then hands the request to Django unchanged.
"""

import time

from django.conf import settings
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.http.request import split_domain_port, validate_host

from ops import middleware as ops_middleware

# What the fast paths stand in for; another chain in settings turns them off.
MIRRORED_MIDDLEWARE = [
    "ops.middleware.ClientAddressMiddleware",
    "ops.middleware.ProbeMiddleware",  # answers only /healthz, /readyz, /metrics
    "ops.middleware.RequestLogMiddleware",
    "portal.hosts.HostGateMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]


def enabled() -> bool:
    return settings.FAST_PATHS and settings.REGISTRY_MIDDLEWARE == MIRRORED_MIDDLEWARE


def admitted(environ: dict) -> bool | None:
    """None: let Django answer. Else whether the request came over HTTPS."""
    if not environ.get("PATH_INFO", "").isascii() or not enabled():
        return None
    secure = _is_secure(environ)
    if settings.SECURE_SSL_REDIRECT and not secure:
        return None  # Django redirects (the exempt patterns are its business)
    if not _host_is_configured(environ, secure):
        return None  # a vendor's portal domain, or a 400: the Host gate decides
    return secure


class FastRequest:
    """What the shared request code uses of a request (the views get a WSGIRequest)."""

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


def started(environ: dict) -> float:
    """Django's request_started (database connection upkeep), and the request's clock."""
    signals.request_started.send(sender=WSGIHandler, environ=environ)
    return time.perf_counter()


def abandoned() -> None:
    """A fast path that sent request_started and then hands the request to Django."""
    signals.request_finished.send(sender=WSGIHandler)


def respond(start_response, request: FastRequest, headers: dict, body: bytes, *, clock, secure):
    """Send a 200 answer with what the middleware chain adds (request id, security
    headers); the metrics and log line follow when the server closes the body."""
    request.request_id = ops_middleware.request_id_for(request.META)
    headers["X-Request-ID"] = request.request_id
    start_response("200 OK", [*headers.items(), *_security_headers(secure)])
    sent = int(headers["Content-Length"])

    def finished():
        ops_middleware.request_record(request, status=200, sent=sent, started=clock)

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
    """What SecurityMiddleware and XFrameOptionsMiddleware add to a response."""
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
