"""Middleware for operations: probe endpoints, and per-request logs and metrics."""

import hmac
import ipaddress
import itertools
import logging
import os
import re
import secrets
import threading
import time

from django.conf import settings
from django.http import HttpResponse, JsonResponse

from customers import request_context
from ops import health, metrics

request_log = logging.getLogger("distr.request")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


class _RequestIds:
    """Request ids without a system call per request: a random 64-bit prefix drawn once
    per process (again after a fork) and a counter. uuid4() read os.urandom on every
    request, and that call released the GIL: under load each release meant waiting for
    it again behind the worker's other threads."""

    def __init__(self) -> None:
        self._pid = -1
        self._lock = threading.Lock()

    def next(self) -> str:
        if self._pid != os.getpid():
            with self._lock:
                if self._pid != os.getpid():
                    self._prefix = secrets.token_hex(8)
                    self._counter = itertools.count()
                    self._pid = os.getpid()
        # next() on itertools.count is atomic under the GIL.
        return f"{self._prefix}{next(self._counter):016x}"


_request_ids = _RequestIds()


class ClientAddressMiddleware:
    """The client's address in `REMOTE_ADDR`, for everything after it: allauth's rate
    limits, the failed-auth audit, pull analytics, the request log.

    Behind a proxy the socket's peer is the proxy. When that peer is in TRUSTED_PROXIES,
    the client is the rightmost X-Forwarded-For entry that is not itself a trusted proxy
    (each proxy appends the address it saw, so entries left of the first untrusted one are
    whatever the client claimed). A client talking to distr directly cannot spoof: its own
    address is not trusted, so its X-Forwarded-For is ignored. The peer stays in
    `DISTR_PEER_ADDR`."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        reset = client_address_bind(request.META)
        try:
            return self.get_response(request)
        finally:
            client_address_unbind(reset)


def client_address_bind(meta: dict):
    """Put the client's address in `meta["REMOTE_ADDR"]` (the peer in DISTR_PEER_ADDR when
    it is a trusted proxy), and bind it for the audit rows written while the request runs
    (request_context). Returns what client_address_unbind needs. Also used by the WSGI
    fast path (distr/fast_reads.py)."""
    trusted = _trusted_networks()
    if trusted:
        peer = meta.get("REMOTE_ADDR", "")
        meta["DISTR_PEER_ADDR"] = peer
        meta["REMOTE_ADDR"] = client_address(peer, meta.get("HTTP_X_FORWARDED_FOR", ""), trusted)
    return request_context.client_address.set(meta.get("REMOTE_ADDR") or None)


def client_address_unbind(reset) -> None:
    request_context.client_address.reset(reset)


_trusted_memo: tuple[tuple, list] = ((), [])


def _trusted_networks() -> list:
    """settings.TRUSTED_PROXIES parsed, re-parsed only when the setting changes."""
    global _trusted_memo
    cidrs = tuple(settings.TRUSTED_PROXIES)
    if _trusted_memo[0] != cidrs:
        _trusted_memo = (cidrs, [ipaddress.ip_network(c, strict=False) for c in cidrs])
    return _trusted_memo[1]


def client_address(peer: str, forwarded_for: str, trusted: list) -> str:
    address = peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    while _is_trusted(address, trusted) and hops:
        candidate = hops.pop()
        try:
            ipaddress.ip_address(candidate)
        except ValueError:
            break  # garbage left of a trusted hop: the proxy's own peer is the answer
        address = candidate
    return address


def _is_trusted(address: str, trusted: list) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


class ProbeMiddleware:
    """`/healthz`, `/readyz` and `/metrics`, answered before anything else runs: probes
    and scrapers reach pods by IP over plain HTTP, so host validation and the HTTPS
    redirect must not apply to them, and they are not worth a request log line."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path_info
        if path == "/healthz":
            return JsonResponse({"status": "ok"})  # the process answers: alive
        if path == "/readyz":
            ready, checks = health.readiness()
            body = {"status": "ok" if ready else "unavailable", "checks": checks}
            return JsonResponse(body, status=200 if ready else 503)
        if path == "/metrics":
            if not _metrics_authorised(request):
                return HttpResponse(
                    "metrics need the bearer token (METRICS_BEARER_TOKEN; without it, only "
                    "loopback clients may scrape)\n",
                    status=401,
                )
            return HttpResponse(
                metrics.exposition(), content_type="text/plain; version=0.0.4; charset=utf-8"
            )
        return self.get_response(request)


def _metrics_authorised(request) -> bool:
    """With METRICS_BEARER_TOKEN, that bearer token; without it, only this host's own
    scrapers (a loopback client address): metrics name repositories and customers' load."""
    token = settings.METRICS_BEARER_TOKEN
    if not token:
        return _is_loopback(request.META.get("REMOTE_ADDR", ""))
    given = request.headers.get("Authorization", "").removeprefix("Bearer ")
    return hmac.compare_digest(given.encode(), token.encode())


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


class RequestLogMiddleware:
    """One log line and the request metrics per request, written when the response is
    closed (after its last byte, so blob transfers are timed whole). The request id comes
    from `X-Request-ID` when the proxy sent a sane one, and is echoed back."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        request.request_id = request_id_for(request.META)
        response = self.get_response(request)
        response["X-Request-ID"] = request.request_id
        # Django closes the response when the server has sent it (or the client left);
        # _resource_closers is how it runs callbacks then.
        response._resource_closers.append(lambda: _finished(request, response, started))
        return response


def request_id_for(meta: dict) -> str:
    """`X-Request-ID` when the proxy sent a sane one, else a new id."""
    incoming = meta.get("HTTP_X_REQUEST_ID", "")  # META: no header-dict build
    return incoming if _REQUEST_ID.fullmatch(incoming) else _request_ids.next()


def _finished(request, response, started: float) -> None:
    match = getattr(request, "resolver_match", None)
    route = match.url_name if match and match.url_name else "unmatched"
    method, status = request.method, response.status_code
    sent = _response_bytes(response)
    if route == "registry-blob" and method == "GET":
        if status == 307:
            metrics.BYTES_SERVED.labels("redirect").inc(getattr(response, "blob_bytes", 0))
        elif status in (200, 206):
            mode = "file" if hasattr(response, "file_to_stream") else "stream"
            metrics.BYTES_SERVED.labels(mode).inc(sent or 0)
    request_record(request, status=status, sent=sent, started=started)


def request_record(request, *, status: int, sent: int | None, started: float) -> None:
    """A request's metrics and log line, once its response is closed. Also called by the
    WSGI fast path (distr/fast_reads.py), with its own request object."""
    duration = time.perf_counter() - started
    match = getattr(request, "resolver_match", None)
    route = match.url_name if match and match.url_name else "unmatched"
    method = request.method
    metrics.REQUESTS.labels(route, method, str(status)).inc()
    metrics.LATENCY.labels(route, method).observe(duration)
    if route == "registry-manifest" and method == "GET" and status == 200:
        metrics.PULLS.inc()
    if not request_log.isEnabledFor(logging.INFO):
        return  # LOG_LEVEL=WARNING: no line, so nothing to build for one
    fields = {
        "request_id": request.request_id,
        "method": method,
        "path": request.path,
        "route": route,
        "status": status,
        "bytes_in": _int(request.META.get("CONTENT_LENGTH")),
        "bytes_out": sent,
        "duration_ms": round(duration * 1000, 2),
        "repository": match.kwargs.get("name") if match else None,
        **_principal(request),
        "remote_addr": request.META.get("REMOTE_ADDR"),
        "pid": os.getpid(),  # which worker served it
        "user_agent": request.META.get("HTTP_USER_AGENT", "")[:200],
    }
    request_log.info(_text_line(fields), extra={"fields": fields})


def _principal(request) -> dict:
    """Who asked, by kind and a public identifier (a token's prefix, a user's id); never
    a secret."""
    principal = getattr(request, "principal", None)
    if principal is not None:
        identifier = f"token:{principal.token_prefix}" if principal.token_prefix else None
        return {
            "principal_kind": principal.kind,
            "principal_id": identifier,
            "vendor_id": principal.vendor_id,
            "customer_id": principal.customer_id,
        }
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return {"principal_kind": "user", "principal_id": f"user:{user.pk}"}
    return {"principal_kind": "anonymous", "principal_id": None}


def _response_bytes(response) -> int | None:
    if response.has_header("Content-Length"):
        return _int(response["Content-Length"])
    return None if response.streaming else len(response.content)


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _text_line(fields: dict) -> str:
    """The human-readable form (LOG_FORMAT=text); JSON output uses the fields instead."""
    who = fields["principal_id"] or fields["principal_kind"]
    return (
        f"{fields['method']} {fields['path']} {fields['status']} "
        f"{fields['bytes_out'] if fields['bytes_out'] is not None else '-'}B "
        f"{fields['duration_ms']}ms {who} rid={fields['request_id']}"
    )
