"""Who an API request acts for and what it may do.

The vendor comes from the token (or, for a signed-in staff user, their membership:
analytics.api.permissions.IsVendorStaff). Each view names its area (`scope_area`): a
read needs `<area>:read`, a change `<area>:write`, as customers/scopes.py decides from
the token's scopes; a signed-in user may change things when their staff role may manage
customers. Every change is audited as the token (`token:<prefix>`) or the user, through
the request context the services read (customers.request_context.actor)."""

from rest_framework import permissions
from rest_framework.throttling import SimpleRateThrottle

from analytics.api.authentication import ApiTokenUser
from analytics.api.permissions import IsVendorStaff
from customers.scopes import scope_allows
from customers.selectors import staff_role

WRITE_ROLES = {"admin", "maintainer"}


def principal_label(request) -> str:
    if isinstance(request.user, ApiTokenUser):
        return f"token:{request.user.token_prefix}"
    return f"user:{request.user.pk}"


class VendorReadWrite(IsVendorStaff):
    message = "this token or account may not make changes"

    def has_permission(self, request, view) -> bool:
        if not super().has_permission(request, view):
            return False
        write = request.method not in permissions.SAFE_METHODS
        if isinstance(request.user, ApiTokenUser):
            needed = f"{view.scope_area}:{'write' if write else 'read'}"
            self.message = f"this API token lacks the scope {needed!r}"
            return scope_allows(request.user.scopes, needed)
        if write:
            return staff_role(user=request.user, vendor=request.vendor) in WRITE_ROLES
        return True


class PerCallerRateThrottle(SimpleRateThrottle):
    """API_RATE_LIMIT requests per caller (token or user), counted in the shared cache so
    every process of an install shares one budget; 429 with Retry-After beyond it."""

    scope = "api"

    def get_cache_key(self, request, view):
        if not request.user or not request.user.is_authenticated:
            return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
        return self.cache_format % {"scope": self.scope, "ident": principal_label(request)}
