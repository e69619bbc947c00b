"""Which vendor a portal request is for, and who the user is there.

The vendor comes from the host name (a `VendorDomain`) or, on the embedded default, from
the `/p/<vendor-slug>/` path prefix. A user is inside a vendor's portal as one of its staff
(`VendorMember`) or as a user of one of its customers (`CustomerMember`), never both.
"""

from dataclasses import dataclass
from functools import cached_property
from urllib.parse import urlsplit

from django.conf import settings
from django.urls import get_script_prefix

from customers.models import Customer, CustomerMember, Vendor, VendorMember
from portal.models import VendorDomain

STAFF_ROLES = ("viewer", "maintainer", "admin")  # in increasing power

# What each staff role may change. Reading the console needs only membership.
STAFF_PERMISSIONS = {
    "customers.manage": {"maintainer", "admin"},
    "customers.delete": {"admin"},  # takes the customer's history with it
    "licenses.manage": {"maintainer", "admin"},
    "users.invite": {"maintainer", "admin"},
    "repositories.manage": {"maintainer", "admin"},
    "immutable_rules.manage": {"admin"},  # what nobody may move or delete afterwards
    "tokens.manage": {"maintainer", "admin"},
    # API tokens act for the whole vendor (a write token can do what an admin does).
    "api_tokens.manage": {"admin"},
    "branding.manage": {"admin"},
    "staff.manage": {"admin"},
    "webhooks.manage": {"admin"},  # a webhook can send the vendor's events anywhere
    "signing_keys.manage": {"admin"},  # what the vendor's kits and license keys trust
    "storage.manage": {"admin"},  # retention rules delete tags and manifests
}


def vendor_for_host(host: str) -> Vendor | None:
    """The vendor whose portal answers on `host` (no port): only a *verified* domain counts
    (a pending claim is inert). One indexed query per request for a vendor domain, never a
    cache: a domain verified or removed in any process counts from the next request on (a
    per-process cache here is what once kept removed domains alive)."""
    return Vendor.objects.filter(domains__host=host, domains__verified_at__isnull=False).first()


def portal_base_url(*, vendor: Vendor, request=None) -> str:
    """The absolute root of the vendor's portal, from configuration only, never from the
    text of a Host header: on a request that came in on one of the vendor's verified
    domains (the host gate checked it against the database), that domain; on any other
    request, the public URL's /p/<slug> route. Outside a request, the vendor's first
    verified domain, else the /p/<slug> route. Domains take the public URL's scheme and
    port (the same server answers them)."""
    public = urlsplit(settings.DISTR_PUBLIC_URL)
    if request is not None:
        host_vendor = getattr(request, "host_vendor", None)
        host = request.host_domain if host_vendor is not None and host_vendor == vendor else None
    else:
        host = (
            VendorDomain.objects.filter(vendor=vendor, verified_at__isnull=False)
            .order_by("verified_at", "pk")
            .values_list("host", flat=True)
            .first()
        )
    if host is None:
        return f"{settings.DISTR_PUBLIC_URL}/p/{vendor.slug}"
    port = f":{public.port}" if public.port else ""
    return f"{public.scheme}://{host}{port}"


def portal_link(*, vendor: Vendor, path: str, request=None) -> str:
    """An absolute link for mail to `path`, a portal path as reverse() returns it on any
    portal route (with or without the /p/<slug>/ prefix of the current request)."""
    prefix = get_script_prefix()
    relative = path[len(prefix) :] if path.startswith(prefix) else path.lstrip("/")
    return f"{portal_base_url(vendor=vendor, request=request)}/{relative}"


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
