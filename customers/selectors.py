"""Reads for vendors, customers and tokens."""

from django.utils import timezone

from customers.models import AccessToken, Customer, Vendor, VendorMember
from customers.tokens import secret_matches, secret_prefix

# Which kinds each interface accepts: a registry credential never opens the API, and an
# API token never opens the registry. The default is the registry's, so a caller that
# does not say gets no API token.
REGISTRY_KINDS = (AccessToken.Kind.PUSH, AccessToken.Kind.PULL)
API_KINDS = (AccessToken.Kind.API,)


def token_authenticate(
    *, secret: str, kinds: tuple[str, ...] = REGISTRY_KINDS
) -> AccessToken | None:
    """The live token of one of `kinds` this secret belongs to, or None.

    A malformed secret, an unknown prefix and a wrong secret for a known prefix all cost
    one hash and one constant-time comparison, so timing does not tell them apart. The
    row is read on every call: a revocation or expiry counts from the next request in
    every process (the row is the shared truth; no per-process memo to invalidate).
    """
    prefix = secret_prefix(secret)
    token = (
        AccessToken.objects.select_related("vendor", "customer").filter(prefix=prefix).first()
        if prefix
        else None
    )
    if not secret_matches(secret, token.secret_hash if token else None):
        return None
    if token.kind not in kinds or not token_is_live(token):
        return None
    return token


def token_refused(*, secret: str, kinds: tuple[str, ...] = REGISTRY_KINDS) -> AccessToken | None:
    """The token of one of `kinds` this secret really belongs to when it is revoked or
    expired (None for an unknown or wrong secret): its vendor's audit log should show
    the refusal."""
    prefix = secret_prefix(secret)
    token = token_get_by_prefix(prefix=prefix) if prefix else None
    if token is None or not secret_matches(secret, token.secret_hash) or token_is_live(token):
        return None
    return token if token.kind in kinds else None


def token_is_live(token: AccessToken) -> bool:
    if token.revoked_at is not None:
        return False
    return token.expires_at is None or token.expires_at > timezone.now()


def token_get_by_prefix(*, prefix: str) -> AccessToken | None:
    return AccessToken.objects.select_related("vendor", "customer").filter(prefix=prefix).first()


def api_tokens_list(*, vendor: Vendor):
    """The vendor's API tokens, live ones first, newest first."""
    return AccessToken.objects.filter(vendor=vendor, kind=AccessToken.Kind.API).order_by(
        "revoked_at", "-created_at"
    )


def api_token_get(*, vendor: Vendor, token_id: int) -> AccessToken | None:
    return AccessToken.objects.filter(vendor=vendor, kind=AccessToken.Kind.API, pk=token_id).first()


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
