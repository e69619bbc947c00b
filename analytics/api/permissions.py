"""Which vendor an API request acts for, decided once per request: the token's vendor, or
for a session the vendor the user is a member of (`?vendor=<slug>` when several); and
whether an API token's scopes allow the endpoint (`HasScope`)."""

from rest_framework import exceptions, permissions

from analytics.api.authentication import ApiTokenUser
from customers.scopes import scope_allows
from customers.selectors import staff_vendors


class IsVendorStaff(permissions.BasePermission):
    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if isinstance(user, ApiTokenUser):
            request.vendor = user.vendor
            return True
        vendors = staff_vendors(user=user, vendor_slug=request.query_params.get("vendor", ""))
        if len(vendors) == 1:
            request.vendor = vendors[0]
            return True
        if len(vendors) > 1:
            raise exceptions.PermissionDenied("you belong to several vendors: add ?vendor=<slug>")
        return False


class HasScope(permissions.BasePermission):
    """`permission_classes = [IsVendorStaff, HasScope("analytics:read")]`: an API token
    must hold a scope that covers this one (customers/scopes.py). Sessions are not
    narrowed here: the staff member's role decides, as in the console.

    DRF instantiates each entry of `permission_classes`; an instance answers that call
    with itself, so one line names the scope."""

    def __init__(self, scope: str):
        scope_allows((), scope)  # an unknown area or action fails at import, not per request
        self.scope = scope
        self.message = f"this API token lacks the scope {scope!r}"

    def __call__(self) -> "HasScope":
        return self

    def has_permission(self, request, view) -> bool:
        user = request.user
        if isinstance(user, ApiTokenUser):
            return scope_allows(user.scopes, self.scope)
        return True
