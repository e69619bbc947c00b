"""Invitations: the only way into a portal. Staff invite staff and customer users;
customer admins invite colleagues. The link's key is shown once (in the email) and only
its hash is stored; a link works once, on its own vendor's portal, until it expires."""

import datetime
import hashlib
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from customers.models import AuditEvent, Customer, CustomerMember, Vendor, VendorMember
from customers.services import audit_record
from portal.models import Invitation

SESSION_INVITATION_KEY = "portal_invitation_id"

# Backends that deliver nothing to the invitee: the embedded default (console) and dummy.
_UNDELIVERED_BACKENDS = (
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.dummy.EmailBackend",
)


def mail_configured() -> bool:
    """Whether an invitation email reaches anyone. Without EMAIL_URL the backend is the
    console one (the message goes to the server log), so the inviter must get the link."""
    return settings.EMAIL_BACKEND not in _UNDELIVERED_BACKENDS


class InvitationError(ValueError):
    """Bad input for an invitation (message is safe to show)."""


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def invitation_create(
    *, vendor: Vendor, email: str, role: str, customer: Customer | None = None, invited_by=None
) -> tuple[Invitation, str]:
    """Create an invitation; returns it with the secret key for the link."""
    email = email.strip()
    if customer is not None and customer.vendor_id != vendor.id:
        raise InvitationError("that customer belongs to another vendor")
    valid_roles = CustomerMember.Role.values if customer else VendorMember.Role.values
    if role not in valid_roles:
        raise InvitationError(f"role must be one of {', '.join(valid_roles)}")
    if _already_member(vendor=vendor, email=email):
        raise InvitationError(f"{email} already has an account on this portal")
    key = secrets.token_urlsafe(32)
    with transaction.atomic():
        invitation = Invitation.objects.create(
            vendor=vendor,
            customer=customer,
            email=email,
            role=role,
            key_hash=_key_hash(key),
            expires_at=timezone.now() + datetime.timedelta(days=settings.PORTAL_INVITATION_DAYS),
            invited_by=invited_by,
        )
        audit_record(
            vendor=vendor,
            action=AuditEvent.Action.INVITATION_SENT,
            actor=_actor(invited_by),
            target=f"invitation:{email}",
            details={"role": role, "customer": customer.slug if customer else ""},
        )
    return invitation, key


def _already_member(*, vendor: Vendor, email: str) -> bool:
    return (
        VendorMember.objects.filter(vendor=vendor, user__email__iexact=email).exists()
        or CustomerMember.objects.filter(
            customer__vendor=vendor, user__email__iexact=email
        ).exists()
    )


def invitation_get_open(*, vendor: Vendor, key: str) -> Invitation | None:
    """The invitation behind a link, if it is still usable on this vendor's portal."""
    invitation = (
        Invitation.objects.select_related("customer")
        .filter(vendor=vendor, key_hash=_key_hash(key))
        .first()
    )
    return invitation if invitation is not None and invitation_is_open(invitation) else None


def invitation_is_open(invitation: Invitation) -> bool:
    return (
        invitation.accepted_at is None
        and invitation.revoked_at is None
        and invitation.expires_at > timezone.now()
        and (invitation.customer is None or invitation.customer.suspended_at is None)
    )


def invitation_pending_for(request) -> Invitation | None:
    """The open invitation this browser session is in the middle of accepting."""
    invitation_id = request.session.get(SESSION_INVITATION_KEY)
    vendor = getattr(request, "vendor", None)
    if not invitation_id or vendor is None:
        return None
    invitation = (
        Invitation.objects.select_related("customer")
        .filter(pk=invitation_id, vendor=vendor)
        .first()
    )
    return invitation if invitation is not None and invitation_is_open(invitation) else None


def invitation_accept(*, invitation: Invitation, user) -> None:
    """Give `user` the membership the invitation offers (once)."""
    if user.email.lower() != invitation.email.lower():
        raise InvitationError(f"this invitation is for {invitation.email}")
    with transaction.atomic():
        claimed = Invitation.objects.filter(
            pk=invitation.pk, accepted_at__isnull=True, revoked_at__isnull=True
        ).update(accepted_at=timezone.now())
        if not claimed:
            raise InvitationError("this invitation has already been used")
        if invitation.customer_id:
            if VendorMember.objects.filter(vendor_id=invitation.vendor_id, user=user).exists():
                raise InvitationError("vendor staff cannot also be customer users")
            CustomerMember.objects.get_or_create(
                customer_id=invitation.customer_id, user=user, defaults={"role": invitation.role}
            )
        else:
            if CustomerMember.objects.filter(
                customer__vendor_id=invitation.vendor_id, user=user
            ).exists():
                raise InvitationError("customer users cannot also be vendor staff")
            VendorMember.objects.get_or_create(
                vendor_id=invitation.vendor_id, user=user, defaults={"role": invitation.role}
            )
        audit_record(
            vendor=invitation.vendor,
            action=AuditEvent.Action.INVITATION_ACCEPTED,
            actor=_actor(user),
            target=f"invitation:{invitation.email}",
        )


def invitation_revoke(*, invitation: Invitation, revoked_by=None) -> None:
    with transaction.atomic():
        Invitation.objects.filter(pk=invitation.pk, accepted_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        audit_record(
            vendor=invitation.vendor,
            action=AuditEvent.Action.INVITATION_REVOKED,
            actor=_actor(revoked_by),
            target=f"invitation:{invitation.email}",
        )


def user_exists(email: str) -> bool:
    return get_user_model().objects.filter(email__iexact=email).exists()


def _actor(user) -> str:
    return f"user:{user.pk}" if user is not None else ""  # "": audit_record's default
