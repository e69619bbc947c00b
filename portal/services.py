"""Portal writes: branding, domains and memberships. Each records an audit event."""

from django.db import transaction

from customers.models import AuditEvent, CustomerMember, Vendor, VendorMember
from customers.services import audit_record
from portal.models import Branding, VendorDomain

LOGO_MAX_BYTES = 256 * 1024
FAVICON_MAX_BYTES = 64 * 1024
# Sniffed from the bytes, never taken from the client's Content-Type.
_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x00\x00\x01\x00", "image/x-icon"),
)


class PortalError(ValueError):
    """Bad input for a portal operation (message is safe to show)."""


def image_type(data: bytes, *, allow_svg: bool = True) -> str:
    for signature, content_type in _SIGNATURES:
        if data.startswith(signature):
            return content_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    head = data[:512].lstrip().lower()
    if allow_svg and (head.startswith(b"<svg") or (head.startswith(b"<?xml") and b"<svg" in head)):
        return "image/svg+xml"  # served with a CSP that forbids scripts (views/brand.py)
    raise PortalError("the file is not a PNG, JPEG, WebP, ICO or SVG image")


def _read_image(upload, limit: int, *, allow_svg: bool) -> tuple[bytes, str]:
    if upload.size > limit:
        raise PortalError(f"the image is larger than {limit // 1024} KB")
    data = upload.read(limit + 1)
    return data, image_type(data, allow_svg=allow_svg)


def branding_update(*, vendor: Vendor, data: dict, logo=None, favicon=None, updated_by=None):
    branding, _ = Branding.objects.get_or_create(vendor=vendor)
    for field in (
        "display_name",
        "primary_color",
        "accent_color",
        "support_url",
        "support_email",
        "footer_text",
    ):
        setattr(branding, field, data.get(field, getattr(branding, field)))
    branding.primary_color = branding.primary_color.lower()
    branding.accent_color = branding.accent_color.lower()
    if logo is not None:
        branding.logo, branding.logo_type = _read_image(logo, LOGO_MAX_BYTES, allow_svg=True)
    if favicon is not None:
        branding.favicon, branding.favicon_type = _read_image(
            favicon, FAVICON_MAX_BYTES, allow_svg=False
        )
    branding.full_clean()
    with transaction.atomic():
        branding.save()
        audit_record(
            vendor=vendor,
            action=AuditEvent.Action.BRANDING_UPDATED,
            actor=_actor(updated_by),
            target="branding",
        )
    return branding


def domain_add(*, vendor: Vendor, host: str, added_by=None) -> VendorDomain:
    host = host.strip().lower().rstrip(".")
    domain = VendorDomain(vendor=vendor, host=host)
    domain.full_clean(exclude=["vendor"], validate_unique=False)
    if VendorDomain.objects.filter(host=host).exists():
        raise PortalError(f"{host} is already in use")
    with transaction.atomic():
        domain.save()
        audit_record(
            vendor=vendor,
            action=AuditEvent.Action.DOMAIN_ADDED,
            actor=_actor(added_by),
            target=host,
        )
    return domain


def domain_remove(*, domain: VendorDomain, removed_by=None) -> None:
    with transaction.atomic():
        domain.delete()
        audit_record(
            vendor=domain.vendor,
            action=AuditEvent.Action.DOMAIN_REMOVED,
            actor=_actor(removed_by),
            target=domain.host,
        )


def staff_role_change(*, member: VendorMember, role: str, changed_by=None) -> None:
    if role not in VendorMember.Role.values:
        raise PortalError("unknown role")
    if member.role == VendorMember.Role.ADMIN and role != VendorMember.Role.ADMIN:
        _keep_one_admin(member)
    with transaction.atomic():
        VendorMember.objects.filter(pk=member.pk).update(role=role)
        audit_record(
            vendor=member.vendor,
            action=AuditEvent.Action.MEMBER_ROLE_CHANGED,
            actor=_actor(changed_by),
            target=f"user:{member.user_id}",
            details={"from": member.role, "to": role},
        )
        member.role = role


def staff_remove(*, member: VendorMember, removed_by=None) -> None:
    if member.role == VendorMember.Role.ADMIN:
        _keep_one_admin(member)
    with transaction.atomic():
        member.delete()
        audit_record(
            vendor=member.vendor,
            action=AuditEvent.Action.MEMBER_REMOVED,
            actor=_actor(removed_by),
            target=f"user:{member.user_id}",
            details={"role": member.role, "staff": True},
        )


def customer_member_remove(*, member: CustomerMember, removed_by=None) -> None:
    with transaction.atomic():
        member.delete()
        audit_record(
            vendor=member.customer.vendor,
            action=AuditEvent.Action.MEMBER_REMOVED,
            actor=_actor(removed_by),
            target=f"user:{member.user_id}",
            details={"customer": member.customer.slug},
        )


def _keep_one_admin(member: VendorMember) -> None:
    others = VendorMember.objects.filter(vendor_id=member.vendor_id, role="admin").exclude(
        pk=member.pk
    )
    if not others.exists():
        raise PortalError("a vendor keeps at least one admin")


def _actor(user) -> str:
    return f"user:{user.pk}" if user is not None else "system"
