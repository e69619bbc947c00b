"""Which vendor an API request acts for, decided once per request: the token's vendor, or
for a session the vendor the user is a member of (`?vendor=<slug>` when several)."""

from rest_framework import exceptions, permissions

from analytics.api.authentication import ApiTokenUser
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
