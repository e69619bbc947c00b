"""Which vendor a portal request is for, and who the user is there.

The vendor comes from the host name (a `VendorDomain`) or, on the embedded default, from
the `/p/<vendor-slug>/` path prefix. A user is inside a vendor's portal as one of its staff
(`VendorMember`) or as a user of one of its customers (`CustomerMember`), never both.
"""

from dataclasses import dataclass
from functools import cached_property

from customers.models import Customer, CustomerMember, Vendor, VendorMember

STAFF_ROLES = ("viewer", "maintainer", "admin")  # in increasing power

# What each staff role may change. Reading the console needs only membership.
STAFF_PERMISSIONS = {
    "customers.manage": {"maintainer", "admin"},
    "licenses.manage": {"maintainer", "admin"},
    "users.invite": {"maintainer", "admin"},
    "repositories.manage": {"maintainer", "admin"},
    "tokens.manage": {"maintainer", "admin"},
    "branding.manage": {"admin"},
    "staff.manage": {"admin"},
}


def vendor_for_host(host: str) -> Vendor | None:
    """The vendor whose portal answers on `host` (no port). One indexed query per portal
    request, never a cache: a domain added or removed in any process counts from the next
    request on (a per-process cache here is what once kept removed domains alive)."""
    return Vendor.objects.filter(domains__host=host).first()


@dataclass
class PortalAccess:
    """The signed-in user's standing in the request's vendor portal."""

    vendor: Vendor
    user: object

    @cached_property
    def staff(self) -> VendorMember | None:
        if not self.user.is_authenticated:
            return None
        return VendorMember.objects.filter(vendor=self.vendor, user=self.user).first()

    @cached_property
    def customer_member(self) -> CustomerMember | None:
        if not self.user.is_authenticated or self.staff is not None:
            return None
        return (
            CustomerMember.objects.select_related("customer")
            .filter(customer__vendor=self.vendor, user=self.user)
            .first()
        )

    @property
    def customer(self) -> Customer | None:
        return self.customer_member.customer if self.customer_member else None

    @property
    def is_staff(self) -> bool:
        return self.staff is not None

    @property
    def is_customer(self) -> bool:
        return self.customer_member is not None and self.customer.suspended_at is None

    @property
    def is_customer_admin(self) -> bool:
        return self.is_customer and self.customer_member.role == CustomerMember.Role.ADMIN

    def staff_can(self, permission: str) -> bool:
        return self.staff is not None and self.staff.role in STAFF_PERMISSIONS[permission]


def user_may_enter(*, user, vendor: Vendor) -> bool:
    """May this user hold a session on this vendor's portal?"""
    if VendorMember.objects.filter(vendor=vendor, user=user).exists():
        return True
    return CustomerMember.objects.filter(
        customer__vendor=vendor, customer__suspended_at__isnull=True, user=user
    ).exists()
