"""Errors as `application/problem+json` (RFC 9457): `type`, `title`, `status`, `detail`,
and for invalid input `errors`: field -> messages. One handler for every API view
(REST_FRAMEWORK["EXCEPTION_HANDLER"]), so a client parses one shape whatever went wrong.
Headers DRF attaches (Retry-After on 429, WWW-Authenticate on 401) are kept."""

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

PROBLEM = "application/problem+json"
_TITLES = {
    400: "Invalid request",
    401: "Authentication required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    410: "Gone",
    412: "Precondition failed",
    415: "Unsupported media type",
    422: "Unprocessable request",
    428: "Precondition required",
    429: "Too many requests",
}


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "the request conflicts with the current state"
    default_code = "conflict"


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "the resource changed since you read it: fetch it again"
    default_code = "precondition_failed"


class PreconditionRequired(exceptions.APIException):
    status_code = 428
    default_detail = "send If-Match with the ETag you read, so a lost update is refused"
    default_code = "precondition_required"


class Unprocessable(exceptions.APIException):
    """A well-formed request the domain refuses (a license ending before it starts)."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "the request cannot be carried out"
    default_code = "unprocessable"


def problem_response(status_code: int, detail: str, *, errors=None, headers=None) -> Response:
    body = {
        "type": "about:blank",
        "title": _TITLES.get(status_code, "Error"),
        "status": status_code,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    response = Response(body, status=status_code, headers=headers, content_type=PROBLEM)
    return response


def api_exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):  # a service's model validation (full_clean)
        errors = (
            {field: list(messages) for field, messages in exc.message_dict.items()}
            if hasattr(exc, "error_dict")
            else {"non_field_errors": list(exc.messages)}
        )
        return problem_response(422, _first(errors), errors=errors)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        return None  # a bug: Django's 500 handling (logged), never a traceback to clients
    errors = None
    if isinstance(exc, exceptions.ValidationError):
        errors = _field_errors(exc.detail)
        detail = "some fields are invalid" if isinstance(exc.detail, dict) else _first(errors)
    else:
        detail = str(getattr(exc, "detail", "")) or _TITLES.get(response.status_code, "Error")
    headers = {
        k: v for k, v in response.items() if k in ("Retry-After", "WWW-Authenticate", "Allow")
    }
    return problem_response(response.status_code, detail, errors=errors, headers=headers)


def _field_errors(detail) -> dict:
    if isinstance(detail, dict):
        return {field: [str(m) for m in _flat(messages)] for field, messages in detail.items()}
    return {"non_field_errors": [str(m) for m in _flat(detail)]}


def _flat(messages):
    if isinstance(messages, dict):
        for value in messages.values():
            yield from _flat(value)
    elif isinstance(messages, list):
        for value in messages:
            yield from _flat(value)
    else:
        yield messages


def _first(errors: dict) -> str:
    for messages in errors.values():
        if messages:
            return messages[0]
    return "invalid request"
