"""Reads for vendors, customers and tokens."""

from django.utils import timezone

from customers.models import AccessToken, Customer, Vendor, VendorMember
from customers.tokens import secret_matches, secret_prefix


def token_authenticate(*, secret: str) -> AccessToken | None:
    """The live token this secret belongs to, or None.

    A malformed secret, an unknown prefix and a wrong secret for a known prefix all cost
    one hash and one constant-time comparison, so timing does not tell them apart.
    """
    prefix = secret_prefix(secret)
    token = (
        AccessToken.objects.select_related("vendor", "customer").filter(prefix=prefix).first()
        if prefix
        else None
    )
    if not secret_matches(secret, token.secret_hash if token else None):
        return None
    if not token_is_live(token):
        return None
    return token


def token_refused(*, secret: str) -> AccessToken | None:
    """The token this secret really belongs to when it is revoked or expired (None for
    an unknown or wrong secret): its vendor's audit log should show the refusal."""
    prefix = secret_prefix(secret)
    token = token_get_by_prefix(prefix=prefix) if prefix else None
    if token is None or not secret_matches(secret, token.secret_hash) or token_is_live(token):
        return None
    return token


def token_is_live(token: AccessToken) -> bool:
    if token.revoked_at is not None:
        return False
    return token.expires_at is None or token.expires_at > timezone.now()


def token_get_by_prefix(*, prefix: str) -> AccessToken | None:
    return AccessToken.objects.select_related("vendor", "customer").filter(prefix=prefix).first()


def vendor_get(*, slug: str) -> Vendor | None:
    return Vendor.objects.filter(slug=slug).first()


def customer_get(*, vendor: Vendor, slug: str) -> Customer | None:
    return Customer.objects.filter(vendor=vendor, slug=slug).first()


def staff_vendors(*, user, vendor_slug: str = "", limit: int = 2) -> list[Vendor]:
    """Up to `limit` vendors `user` is staff of (only `vendor_slug`'s, when given)."""
    memberships = VendorMember.objects.filter(user=user).select_related("vendor")
    if vendor_slug:
        memberships = memberships.filter(vendor__slug=vendor_slug)
    return [m.vendor for m in memberships.order_by("vendor__slug")[:limit]]


def staff_role(*, user, vendor: Vendor) -> str:
    """The user's staff role at the vendor ("" when not staff)."""
    member = VendorMember.objects.filter(user=user, vendor=vendor).only("role").first()
    return member.role if member else ""
