"""Portal writes: branding, domains and memberships. Each records an audit event."""

import secrets

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from customers.models import AuditEvent, CustomerMember, Vendor, VendorMember
from customers.services import audit_record
from portal.domains import DomainCheckError, txt_values
from portal.hosts import host_is_ip_address, host_is_reserved
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


def branding_image_remove(*, vendor: Vendor, image: str, removed_by=None) -> bool:
    """Remove the logo or the favicon (the portal falls back to the name and the default
    icon). Returns False when there was none."""
    if image not in ("logo", "favicon"):
        raise PortalError(f"no such image: {image}")
    with transaction.atomic():
        updated = (
            Branding.objects.filter(vendor=vendor)
            .exclude(**{f"{image}_type": ""})
            .update(**{image: b"", f"{image}_type": "", "updated_at": timezone.now()})
        )
        if updated:
            audit_record(
                vendor=vendor,
                action=AuditEvent.Action.BRANDING_UPDATED,
                actor=_actor(removed_by),
                target="branding",
                details={"removed": image},
            )
    return bool(updated)


def domain_add(*, vendor: Vendor, host: str, added_by=None) -> VendorDomain:
    """Claim `host` for the vendor's portal. The claim is pending, and serves nothing, until
    `domain_verify` finds its token in DNS. A host the operator configured, an IP address,
    or a host another vendor holds verified, cannot be claimed; pending claims by several
    vendors may coexist (the first to verify wins)."""
    host = host.strip().lower().rstrip(".")
    domain = VendorDomain(vendor=vendor, host=host)
    domain.full_clean(exclude=["vendor"], validate_unique=False, validate_constraints=False)
    if host_is_ip_address(host):
        raise PortalError("use a host name, not an IP address")
    if host_is_reserved(host):
        raise PortalError(f"{host} is this server's own host name and cannot be a portal domain")
    if VendorDomain.objects.filter(host=host, verified_at__isnull=False).exists():
        raise PortalError(f"{host} is already in use")
    if VendorDomain.objects.filter(vendor=vendor, host=host).exists():
        raise PortalError(f"{host} is already added")
    with transaction.atomic():
        domain.save()
        audit_record(
            vendor=vendor,
            action=AuditEvent.Action.DOMAIN_ADDED,
            actor=_actor(added_by),
            target=host,
            details={"verified": False},
        )
    return domain


def domain_verify(*, domain: VendorDomain, checked_by=None) -> VendorDomain:
    """Look for the domain's token in `_distr-challenge.<host>` TXT records; when it is
    there, and no other vendor holds the host verified, the domain serves the vendor's
    portal from the next request on, in every process. Raises PortalError (also recorded on
    the domain as `check_error`) when it cannot be verified."""
    if domain.is_verified:
        return domain
    try:
        error = _domain_refusal(domain)
    except DomainCheckError as lookup_error:
        error = str(lookup_error)
    domain.checked_at = timezone.now()
    if error is None:
        try:
            with transaction.atomic():
                domain.verified_at = domain.checked_at
                domain.check_error = ""
                domain.save(update_fields=["verified_at", "checked_at", "check_error"])
                audit_record(
                    vendor=domain.vendor,
                    action=AuditEvent.Action.DOMAIN_VERIFIED,
                    actor=_actor(checked_by),
                    target=domain.host,
                    details={"method": "dns-txt", "record": domain.challenge_name},
                )
            return domain
        except IntegrityError:  # another vendor verified it in the meantime
            domain.verified_at = None
            error = f"{domain.host} is verified by another vendor"
    domain.check_error = error[:300]
    VendorDomain.objects.filter(pk=domain.pk).update(
        checked_at=domain.checked_at, check_error=domain.check_error
    )
    raise PortalError(error)


def _domain_refusal(domain: VendorDomain) -> str | None:
    if host_is_reserved(domain.host) or host_is_ip_address(domain.host):
        return f"{domain.host} is this server's own host name and cannot be a portal domain"
    taken = VendorDomain.objects.filter(host=domain.host, verified_at__isnull=False)
    if taken.exclude(pk=domain.pk).exists():
        return f"{domain.host} is verified by another vendor"
    values = txt_values(domain.challenge_name)
    if domain.token in values:
        return None
    if not values:
        return f"no TXT record at {domain.challenge_name} yet"
    return f"the TXT record at {domain.challenge_name} does not hold this domain's token"


def domain_remove(*, domain: VendorDomain, removed_by=None) -> None:
    with transaction.atomic():
        domain.delete()
        audit_record(
            vendor=domain.vendor,
            action=AuditEvent.Action.DOMAIN_REMOVED,
            actor=_actor(removed_by),
            target=domain.host,
            details={"verified": domain.verified_at is not None},
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


def staff_admin_ensure(*, vendor: Vendor, email: str, actor: str = "") -> str:
    """Make `email` an admin of the vendor's console with a fresh random password, which
    is returned (the demo's `seeddemo`): the user, its verified address and the
    membership are created when missing; a new membership is audited."""
    password = secrets.token_urlsafe(12)
    with transaction.atomic():
        user = get_user_model().objects.filter(email__iexact=email).first()
        if user is None:
            user = get_user_model().objects.create_user(username=email, email=email)
        user.set_password(password)
        user.save(update_fields=["password"])
        EmailAddress.objects.update_or_create(
            user=user, email=email, defaults={"verified": True, "primary": True}
        )
        _, added = VendorMember.objects.get_or_create(
            vendor=vendor, user=user, defaults={"role": VendorMember.Role.ADMIN}
        )
        if added:
            audit_record(
                vendor=vendor,
                action=AuditEvent.Action.MEMBER_ADDED,
                actor=actor,
                target=f"user:{user.pk}",
                details={"role": VendorMember.Role.ADMIN, "staff": True},
            )
    return password


def _keep_one_admin(member: VendorMember) -> None:
    others = VendorMember.objects.filter(vendor_id=member.vendor_id, role="admin").exclude(
        pk=member.pk
    )
    if not others.exists():
        raise PortalError("a vendor keeps at least one admin")


def _actor(user) -> str:
    return f"user:{user.pk}" if user is not None else ""  # "": audit_record's default
