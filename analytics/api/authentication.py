"""Who calls the JSON API: a vendor API token (`Authorization: Bearer distr_api_…`) or a
logged-in user who is a member of the vendor (session; resolved in permissions).

API tokens are `customers.AccessToken`s of kind "api", checked by the same
`customers.selectors.token_authenticate` as the registry's token secrets: the row is read
on every request, so a revocation or an expiry counts from the next request in every
process. A registry token (push or pull) is refused here, as an API token is refused by
the registry. This lives in analytics because analytics is the API's first user and
`customers`, below every app, uses no DRF; the REST API of the other apps uses it too.
"""

from dataclasses import dataclass

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from customers.models import Vendor
from customers.selectors import API_KINDS, token_authenticate, token_refused
from customers.services import (
    auth_failure_record,
    auth_failures_exceeded,
    auth_failures_retry_after,
    token_touch,
)
from customers.tokens import KIND_PREFIX


@dataclass(frozen=True)
class ApiTokenUser:
    """request.user for a token: the vendor is the whole identity, its scopes the rights."""

    vendor: Vendor
    token_prefix: str
    scopes: tuple[str, ...] = ()
    is_authenticated: bool = True
    is_anonymous: bool = False

    def __str__(self) -> str:
        return f"api-token:{self.token_prefix}"

    # What the request log (ops.middleware) reads from a request's principal.
    kind = "api"
    customer_id = None

    @property
    def vendor_id(self) -> int:
        return self.vendor.pk


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode(errors="replace")
        scheme, _, secret = header.partition(" ")
        secret = secret.strip()
        if scheme.lower() != "bearer" or not secret.startswith(tuple(KIND_PREFIX.values())):
            return None  # not a distr token: let session authentication try
        if not secret.startswith(KIND_PREFIX["api"]):
            raise exceptions.AuthenticationFailed(
                "a registry token cannot be used for the API: use an API token (distr_api_…)"
            )
        address = request.META.get("REMOTE_ADDR") or "unknown"
        if auth_failures_exceeded(address=address):  # the registry's rule: shared count
            raise exceptions.Throttled(wait=auth_failures_retry_after())
        token = token_authenticate(secret=secret, kinds=API_KINDS)
        if token is None:
            auth_failure_record(
                address=address,
                path=request.path,
                refused=token_refused(secret=secret, kinds=API_KINDS),
            )
            raise exceptions.AuthenticationFailed("invalid, revoked or expired API token")
        token_touch(token=token)
        user = ApiTokenUser(
            vendor=token.vendor, token_prefix=token.prefix, scopes=tuple(token.scopes)
        )
        request._request.principal = user  # the request log names the token, never a user
        return user, token

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="distr-api"'


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """Documents the token in the OpenAPI schema (Swagger UI's Authorize button)."""

    target_class = ApiTokenAuthentication
    name = "apiToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "distr_api_… vendor API token; its scopes decide what it may do "
            "(read, write, or per area: analytics:read, customers:write, …)",
        }
