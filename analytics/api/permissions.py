"""Which vendor an API request acts for, decided once per request: the token's vendor, or
for a session the vendor the user is a member of (`?vendor=<slug>` when several)."""

from rest_framework import exceptions, permissions

from analytics.api.authentication import ApiTokenUser
from customers.models import VendorMember


class IsVendorStaff(permissions.BasePermission):
    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if isinstance(user, ApiTokenUser):
            request.vendor = user.vendor
            return True
        memberships = VendorMember.objects.filter(user=user).select_related("vendor")
        wanted = request.query_params.get("vendor")
        if wanted:
            memberships = memberships.filter(vendor__slug=wanted)
        vendors = [m.vendor for m in memberships[:2]]
        if len(vendors) == 1:
            request.vendor = vendors[0]
            return True
        if len(vendors) > 1:
            raise exceptions.PermissionDenied("you belong to several vendors: add ?vendor=<slug>")
        return False
