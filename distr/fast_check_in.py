"""The license check-in answered at the WSGI level (`POST /api/v1/license/check-in`).

An application's check-in is the only API call that arrives at the rate of pulls (every
instance of every customer, on a timer). On the general path it costs Django's handler,
URL resolution and DRF's request, parsers, negotiation and renderer around a service
that needs none of them (bench/wsgi_cost.py). Here the body is parsed and the service's
one-query path (`licensing.checkins.check_in_one_query`) answers, with the endpoint's own
rate limit (`PerKeyRateThrottle.allow_key`) and DRF's own renderer for the body.

As with distr/fast_reads.py, only an answer the general path would give as 200 is given
here; the rest (a refused key, a bad report, the rate limit, a body that is not plainly
one JSON object, an Accept that asks for something else) is handed to Django unchanged,
with the body put back for it to read, and nothing written. The rate limit is counted
last, so a request counts once whichever path answers it.
tests/distr/test_fast_check_in.py holds both paths to the same answers.
"""

import io
import json

from rest_framework.renderers import JSONRenderer

from api.views.check_in import PerKeyRateThrottle
from distr import fast_common
from licensing.checkins import check_in_one_query
from ops import middleware as ops_middleware

ROUTE = "api-license-check-in"
MAX_BODY = 64 * 1024  # a key (16 KiB at most), a report (4 KiB of metadata), and room
_ACCEPTED = {"", "*/*", "application/json"}
# What the DRF view's response carries (APIView's, the view's own); and a Content-Length,
# which Django leaves to the server (gunicorn then sends a 200 chunked).
_HEADERS = {
    "Content-Type": "application/json",
    "Allow": "POST, OPTIONS",
    "Cache-Control": "no-store",
}
_renderer = JSONRenderer()


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")  # DRF's strict JSON: no NaN or Infinity


def _body(environ: dict) -> bytes | None:
    """The request body, read once and put back for Django; None when it is not one to
    read here."""
    media, _, params = environ.get("CONTENT_TYPE", "").partition(";")
    if media.strip().lower() != "application/json":
        return None
    charset = params.strip().lower()
    if charset and charset not in ("charset=utf-8", 'charset="utf-8"'):
        return None
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    if not 0 < length <= MAX_BODY:
        return None
    body = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(body)  # Django reads it again if it answers
    return body if len(body) == length else None


def fast_check_in(environ: dict, start_response):
    """The WSGI response for a successful check-in, or None: let Django's handler answer."""
    if environ.get("REQUEST_METHOD") != "POST":
        return None
    if environ.get("HTTP_ACCEPT", "").strip().lower() not in _ACCEPTED:
        return None
    secure = fast_common.admitted(environ)
    if secure is None:
        return None
    body = _body(environ)
    if body is None:
        return None
    try:
        data = json.loads(body, parse_constant=_refuse_constant)
    except ValueError:
        return None
    key = data.get("key") if isinstance(data, dict) else None
    if not isinstance(key, str):
        return None
    clock = fast_common.started(environ)
    request = fast_common.FastRequest(environ, ROUTE, {})
    reset = ops_middleware.client_address_bind(request.META)
    try:
        answer = check_in_one_query(
            key=key,
            instance_id=data.get("instance_id"),
            version=data.get("version", ""),
            metadata=data.get("metadata"),
            admit=lambda: PerKeyRateThrottle().allow_key(key),
        )
        if answer is not None:
            rendered = _renderer.render(answer)
    except Exception:  # noqa: BLE001 - Django's handler logs it and answers the 500
        answer = None
    finally:
        ops_middleware.client_address_unbind(reset)
    if answer is None:
        fast_common.abandoned()
        return None
    headers = {**_HEADERS, "Content-Length": str(len(rendered))}
    return fast_common.respond(
        start_response, request, headers, rendered, clock=clock, secure=secure
    )
