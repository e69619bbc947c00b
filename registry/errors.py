"""Registry domain errors and the OCI error envelope they render to.

Services raise these; `registry.views` turns them into
`{"errors": [{"code", "message", "detail"}]}` with the spec's status code.
"""

import json

from django.http import HttpResponse

from registry.responses import upload_headers


class RegistryError(Exception):
    code = "UNKNOWN"
    status = 500
    default_message = "unknown error"

    def __init__(
        self,
        message: str | None = None,
        *,
        detail=None,
        headers=None,
        challenge_scope: str = "",
        challenge_error: str = "",
    ):
        self.message = message or self.default_message
        self.detail = detail
        self.headers = headers or {}
        # For 401s: the scope and error to put in the Bearer challenge.
        self.challenge_scope = challenge_scope
        self.challenge_error = challenge_error
        super().__init__(self.message)

    def envelope(self) -> dict:
        error = {"code": self.code, "message": self.message}
        if self.detail is not None:
            error["detail"] = self.detail
        return {"errors": [error]}


def _error(name: str, code: str, status: int, message: str) -> type[RegistryError]:
    return type(
        name, (RegistryError,), {"code": code, "status": status, "default_message": message}
    )


BlobUnknown = _error("BlobUnknown", "BLOB_UNKNOWN", 404, "blob unknown to registry")
BlobUploadInvalid = _error("BlobUploadInvalid", "BLOB_UPLOAD_INVALID", 400, "blob upload invalid")
BlobUploadUnknown = _error(
    "BlobUploadUnknown", "BLOB_UPLOAD_UNKNOWN", 404, "blob upload unknown to registry"
)
DigestInvalid = _error(
    "DigestInvalid", "DIGEST_INVALID", 400, "provided digest did not match uploaded content"
)
ManifestBlobUnknown = _error(
    "ManifestBlobUnknown", "MANIFEST_BLOB_UNKNOWN", 400, "manifest references a blob unknown here"
)
ManifestInvalid = _error("ManifestInvalid", "MANIFEST_INVALID", 400, "manifest invalid")
ManifestUnknown = _error("ManifestUnknown", "MANIFEST_UNKNOWN", 404, "manifest unknown")
NameInvalid = _error("NameInvalid", "NAME_INVALID", 400, "invalid repository name")
NameUnknown = _error("NameUnknown", "NAME_UNKNOWN", 404, "repository name not known to registry")
SizeInvalid = _error("SizeInvalid", "SIZE_INVALID", 400, "provided length did not match content")
TagInvalid = _error("TagInvalid", "MANIFEST_INVALID", 400, "invalid tag")
Unauthorized = _error("Unauthorized", "UNAUTHORIZED", 401, "authentication required")
Denied = _error("Denied", "DENIED", 403, "requested access to the resource is denied")
Unsupported = _error("Unsupported", "UNSUPPORTED", 405, "the operation is unsupported")
PaginationNumberInvalid = _error(
    "PaginationNumberInvalid", "PAGINATION_NUMBER_INVALID", 400, "invalid number of results"
)
# Manifest over the size limit: 413 per the spec.
ManifestTooLarge = _error("ManifestTooLarge", "SIZE_INVALID", 413, "manifest too large")


class RangeNotSatisfiable(RegistryError):
    """A PATCH chunk that does not continue where the upload ends: 416 with the upload's
    Location, Range and Docker-Upload-UUID, as its 202s carry them, so the client resumes."""

    code, status, default_message = "BLOB_UPLOAD_INVALID", 416, "requested range not satisfiable"

    def __init__(self, message: str | None = None, *, upload):
        super().__init__(message, headers=upload_headers(upload))


# A blob GET with a Range outside the blob (not a spec code; the spec only names the status).
BlobRangeInvalid = _error(
    "BlobRangeInvalid", "RANGE_NOT_SATISFIABLE", 416, "requested range not satisfiable"
)
RouteUnknown = _error("RouteUnknown", "NOT_FOUND", 404, "no such registry endpoint")
# A delete that would leave stored content unpullable (an index's child, a manifest's
# blob). The spec names no code for it; 405 UNSUPPORTED is what its conformance suite
# accepts from a registry that refuses a delete, and the message says what to delete first.
ContentInUse = _error("ContentInUse", "UNSUPPORTED", 405, "content is referenced by a manifest")


class TagImmutable(Denied):
    """A push that would move, or a delete that would remove, a tag an immutable-tag rule
    covers. The message names the rule (docs/registry.md, "Immutable tags")."""

    default_message = "the tag is immutable"

    def __init__(self, message: str, *, rule_id: int, repository_name: str, tag: str):
        super().__init__(
            message, detail={"rule": rule_id, "repository": repository_name, "tag": tag}
        )
        self.rule_id, self.repository_name, self.tag = rule_id, repository_name, tag


class QuotaExceeded(Denied):
    """The vendor's storage quota would be passed: refused before the bytes are stored
    (docs/registry.md, "Quotas"). DENIED, not TOOMANYREQUESTS: retrying does not help
    until something is deleted or the quota raised."""

    default_message = "storage quota exceeded"


TooManyRequests = _error("TooManyRequests", "TOOMANYREQUESTS", 429, "too many requests")


def error_response(error: RegistryError, *, head: bool = False) -> HttpResponse:
    body = b"" if head else json.dumps(error.envelope()).encode()
    response = HttpResponse(body, status=error.status, content_type="application/json")
    for name, value in error.headers.items():
        response[name] = value
    return response
