"""Who calls the JSON API: a vendor API token (`Authorization: Bearer distr_api_…`) or a
logged-in user who is a member of the vendor (session; resolved in permissions)."""

from dataclasses import dataclass

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from analytics.services import api_token_authenticate
from customers.models import Vendor


@dataclass(frozen=True)
class ApiTokenUser:
    """request.user for a token: the vendor is the whole identity."""

    vendor: Vendor
    token_prefix: str
    is_authenticated: bool = True
    is_anonymous: bool = False

    def __str__(self) -> str:
        return f"api-token:{self.token_prefix}"


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode(errors="replace")
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip().startswith("distr_api_"):
            return None  # not ours: let session authentication try
        token = api_token_authenticate(secret=secret.strip())
        if token is None:
            raise exceptions.AuthenticationFailed("invalid, revoked or expired API token")
        return ApiTokenUser(vendor=token.vendor, token_prefix=token.prefix), token

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="distr-api"'


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """Documents the token in the OpenAPI schema (Swagger UI's Authorize button)."""

    target_class = ApiTokenAuthentication
    name = "apiToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "distr_api_… vendor token"}
