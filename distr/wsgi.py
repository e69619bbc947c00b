"""WSGI entry point (gunicorn: `distr.wsgi`).

Registry requests (`/v2`, `/v2/…`) go through a shorter middleware chain than everything
else: sessions, CSRF, users, portal tenancy, allauth and messages do nothing for them (the
registry authenticates with tokens, its views are CSRF-exempt, and it never renders a
page), yet cost about a fifth of a warm registry request's CPU. Both chains are complete
Django handlers, so request signals, database connection handling and error responses
are the same on either.

Within that, a successful manifest GET or HEAD or blob HEAD does not even reach Django's
handler: distr/fast_reads.py answers it with the same access checks and answer code,
and hands anything else (errors included) to the short chain.

REST API requests that carry an API token (`Authorization: Bearer distr_api_…`, the way
pipelines call it) take the same short chain: a token is their whole identity, so they
need no session, CSRF or tenancy either (bench/api.py measured the full chain at about a
quarter of a list call's CPU). A browser's API call with its session cookie takes the full
chain, which its session authentication needs. The license check-in that the vendor's
software sends takes the short chain (the key in its body is its credential: no session,
no CSRF), and a successful one is answered before it by distr/fast_check_in.py.
"""

import os

from django.core.handlers.wsgi import WSGIHandler
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "distr.settings")
_everything_else = get_wsgi_application()  # also runs django.setup()


def _registry_handler() -> WSGIHandler:
    from django.conf import settings

    # load_middleware() reads settings.MIDDLEWARE; this runs once, at import, before any
    # request (gunicorn preloads the app in its master process).
    full = settings.MIDDLEWARE
    settings.MIDDLEWARE = settings.REGISTRY_MIDDLEWARE
    try:
        return WSGIHandler()
    finally:
        settings.MIDDLEWARE = full


_registry = _registry_handler()
from distr.fast_check_in import fast_check_in  # noqa: E402 - needs django.setup() first
from distr.fast_reads import fast_read  # noqa: E402

CHECK_IN_PATH = "/api/v1/license/check-in"  # api/urls.py: api-license-check-in


def application(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path == "/v2" or path.startswith("/v2/"):
        answer = fast_read(environ, start_response)  # manifest GET/HEAD, blob HEAD
        return _registry(environ, start_response) if answer is None else answer
    if path.startswith("/api/") and environ.get("HTTP_AUTHORIZATION", "").startswith(
        "Bearer distr_api_"
    ):
        return _registry(environ, start_response)
    if path == CHECK_IN_PATH:  # the license key in the body is the whole credential
        answer = fast_check_in(environ, start_response)
        return _registry(environ, start_response) if answer is None else answer
    return _everything_else(environ, start_response)
