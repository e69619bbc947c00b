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
- around it, what the registry's middleware chain (settings.REGISTRY_MIDDLEWARE) does
  (distr/fast_common.py): the client's address behind trusted proxies, the request id,
  the request metrics and log line when the response closes, the Host gate, the security
  headers; and Django's request_started / request_finished signals.

Only successes are answered here. Anything else returns None before a byte is sent, and
the caller hands the request to Django's registry handler, which does it again and
answers as always: an error with its challenge, a Host that may be a vendor's domain, an
HTTPS redirect, Basic credentials (their failures are audited: they must run once), a
path that is not plainly ASCII. Reads change nothing before they succeed (the pull event
is recorded last), so doing one again is safe. tests/distr/test_fast_reads.py holds
the two paths to the same status, headers and body.
"""

import re

from distr import fast_common
from ops import middleware as ops_middleware
from registry.errors import RegistryError
from registry.views import API_VERSION_HEADER, blob_head_read, manifest_read, request_authorize

# The same patterns as registry/urls.py (registry-manifest, registry-blob), anchored on
# PATH_INFO; routes listed before them there cannot match these paths, except the upload
# routes, whose paths give a blob "digest" that fails to parse and so go to Django.
_MANIFEST = re.compile(r"/v2/(?P<name>.+?)/manifests/(?P<reference>[^/]+)")
_BLOB = re.compile(r"/v2/(?P<name>.+?)/blobs/(?P<digest>[^/]+)")


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
    secure = fast_common.admitted(environ)
    if secure is None:
        return None
    clock = fast_common.started(environ)
    kwargs = match.groupdict()
    request = fast_common.FastRequest(environ, route, kwargs)
    reset = ops_middleware.client_address_bind(request.META)
    try:
        request_authorize(
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
        fast_common.abandoned()
        return None  # Django's handler answers it: the same error, with its challenge
    except Exception:  # noqa: BLE001 - Django's handler logs it and answers the 500
        fast_common.abandoned()
        return None
    finally:
        ops_middleware.client_address_unbind(reset)
    headers[API_VERSION_HEADER[0]] = API_VERSION_HEADER[1]
    return fast_common.respond(start_response, request, headers, body, clock=clock, secure=secure)
