"""Portal reactions to account events: sessions bound to their portal, invitations
accepted on sign-up."""

from allauth.account.signals import user_signed_up
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.cache import cache
from django.dispatch import receiver

from customers.models import AuditEvent
from customers.services import audit_record
from portal.invitations import SESSION_INVITATION_KEY, invitation_accept, invitation_pending_for
from portal.middleware import SESSION_VENDOR_KEY


@receiver(user_logged_in)
def bind_session_to_portal(sender, request, user, **kwargs):
    vendor = getattr(request, "vendor", None)
    if vendor is not None:
        request.session[SESSION_VENDOR_KEY] = vendor.id
    else:
        request.session.pop(SESSION_VENDOR_KEY, None)


@receiver(user_logged_in)
def audit_sign_in(sender, request, user, **kwargs):
    """Every sign-in on a portal, in that vendor's audit log (the address comes from the
    request context)."""
    vendor = getattr(request, "vendor", None)
    audit_record(
        vendor=vendor,
        action=AuditEvent.Action.LOGIN,
        actor=f"user:{user.pk}",
        target=user.email,
    )


# One failed-sign-in row per address and account per window: a password-guessing flood
# (allauth's rate limit stops it soon anyway) cannot grow the audit table at request rate.
LOGIN_FAILED_AUDIT_WINDOW_SECONDS = 60


@receiver(user_login_failed)
def audit_failed_sign_in(sender, credentials, request=None, **kwargs):
    vendor = getattr(request, "vendor", None)
    if vendor is None:
        return  # /admin/: Django's own log; portals are where vendors look
    email = str(credentials.get("email") or credentials.get("username") or "")[:200].lower()
    address = (request.META.get("REMOTE_ADDR") if request else None) or "unknown"
    key = f"portal:loginfail-audit:{vendor.pk}:{address}:{email}"
    if not cache.add(key, 1, LOGIN_FAILED_AUDIT_WINDOW_SECONDS):
        return
    audit_record(
        vendor=vendor,
        action=AuditEvent.Action.LOGIN_FAILED,
        actor="unknown",
        target=email,
        details={"window_seconds": LOGIN_FAILED_AUDIT_WINDOW_SECONDS},
    )


@receiver(user_signed_up)
def accept_invitation_on_sign_up(sender, request, user, **kwargs):
    """Sign-up is only open to someone holding an invitation: the new account gets the
    membership it offers (allauth already checked the address matches)."""
    invitation = invitation_pending_for(request)
    if invitation is not None:
        invitation_accept(invitation=invitation, user=user)
        request.session.pop(SESSION_INVITATION_KEY, None)
