"""`/v2/token`: the Docker token-authentication endpoint (GET with Basic auth, and the
OAuth2 POST form docker and containerd use with refresh tokens)."""

import datetime

from django.conf import settings
from django.http import JsonResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters

from registry.access import grant_scopes
from registry.auth import ANONYMOUS, basic_password, principal_from_secret
from registry.errors import TooManyRequests
from registry.scopes import scopes_parse
from registry.signing import token_issue


def _error(status: int, code: str, message: str) -> JsonResponse:
    response = JsonResponse({"errors": [{"code": code, "message": message}]}, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Basic realm="distr"'
    return response


@method_decorator(csrf_exempt, name="dispatch")
@method_decorator(sensitive_post_parameters("password", "refresh_token"), name="post")
class TokenView(View):
    http_method_names = ["get", "post"]

    def dispatch(self, request, *args, **kwargs):
        try:
            return super().dispatch(request, *args, **kwargs)
        except TooManyRequests as error:
            response = _error(error.status, error.code, error.message)
            for name, value in error.headers.items():
                response[name] = value
            return response

    def get(self, request):
        service = request.GET.get("service")
        if service and service != settings.REGISTRY_SERVICE:
            return _error(400, "UNSUPPORTED", f"unknown service {service[:100]!r}")
        header = request.META.get("HTTP_AUTHORIZATION", "")
        principal = ANONYMOUS
        secret = ""
        if header:
            scheme, _, credentials = header.partition(" ")
            if scheme.lower() != "basic":
                return _error(401, "UNAUTHORIZED", "use Basic authentication with a token")
            secret = basic_password(credentials)
            principal = principal_from_secret(secret, request=request)
            if principal is None:
                return _error(401, "UNAUTHORIZED", "invalid username or token")
        request.principal = principal  # the request log names who asked
        offline = request.GET.get("offline_token") == "true"
        scopes = scopes_parse(request.GET.getlist("scope"))
        return self._issue(principal, scopes, refresh_token=secret if offline else "")

    def post(self, request):
        grant_type = request.POST.get("grant_type")
        service = request.POST.get("service")
        if service and service != settings.REGISTRY_SERVICE:
            return _error(400, "UNSUPPORTED", f"unknown service {service[:100]!r}")
        if grant_type == "password":
            secret = request.POST.get("password", "")
        elif grant_type == "refresh_token":
            secret = request.POST.get("refresh_token", "")
        else:
            return _error(400, "UNSUPPORTED", "grant_type must be password or refresh_token")
        principal = principal_from_secret(secret, request=request) if secret else None
        if principal is None:
            return _error(401, "UNAUTHORIZED", "invalid username or token")
        request.principal = principal
        offline = request.POST.get("access_type") == "offline" or grant_type == "refresh_token"
        scopes = scopes_parse([request.POST.get("scope", "")])
        return self._issue(principal, scopes, refresh_token=secret if offline else "")

    @staticmethod
    def _issue(principal, scopes, *, refresh_token: str) -> JsonResponse:
        access = grant_scopes(principal=principal, scopes=scopes)
        token, issued_at, expires_in = token_issue(
            subject=principal.token_prefix, access=[scope.as_claim() for scope in access]
        )
        body = {
            "token": token,
            "access_token": token,
            "expires_in": expires_in,
            "issued_at": datetime.datetime.fromtimestamp(issued_at, datetime.UTC).isoformat(),
            "scope": " ".join(str(scope) for scope in access),
        }
        if refresh_token:
            # The token secret is the long-lived credential already; handing it back as the
            # refresh token creates no second secret to leak or revoke.
            body["refresh_token"] = refresh_token
        response = JsonResponse(body)
        response["Cache-Control"] = "no-store"
        return response
