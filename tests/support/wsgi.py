"""Calling a WSGI application in process, as gunicorn does: an environ like its own,
the body read to its end, and `close()` called (the request log and metrics run there)."""

import io
import sys


def wsgi_environ(
    path: str,
    method: str = "GET",
    *,
    body: bytes = b"",
    content_type: str | None = None,
    environ: dict | None = None,
    **headers,
) -> dict:
    """`headers` as keyword names without `HTTP_` (AUTHORIZATION=…, X_REQUEST_ID=…)."""
    path_info, _, query = path.partition("?")
    env = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path_info,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        **{f"HTTP_{k.upper()}": v for k, v in headers.items()},
    }
    if body or content_type:
        env["CONTENT_LENGTH"] = str(len(body))
    if content_type:
        env["CONTENT_TYPE"] = content_type
    env.update(environ or {})
    return env


def wsgi_call(application, environ: dict) -> tuple[str, list[tuple[str, str]], bytes]:
    """(status line, headers, body) of one request."""
    seen = {}

    def start_response(status, response_headers, exc_info=None):
        seen["status"], seen["headers"] = status, response_headers

    response = application(environ, start_response)
    try:
        body = b"".join(response)
    finally:
        if hasattr(response, "close"):
            response.close()
    return seen["status"], seen["headers"], body
