"""Portal reactions to account events: sessions bound to their portal, invitations
accepted on sign-up."""

from allauth.account.signals import user_signed_up
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from portal.invitations import SESSION_INVITATION_KEY, invitation_accept, invitation_pending_for
from portal.middleware import SESSION_VENDOR_KEY


@receiver(user_logged_in)
def bind_session_to_portal(sender, request, user, **kwargs):
    vendor = getattr(request, "vendor", None)
    if vendor is not None:
        request.session[SESSION_VENDOR_KEY] = vendor.id
    else:
        request.session.pop(SESSION_VENDOR_KEY, None)


@receiver(user_signed_up)
def accept_invitation_on_sign_up(sender, request, user, **kwargs):
    """Sign-up is only open to someone holding an invitation: the new account gets the
    membership it offers (allauth already checked the address matches)."""
    invitation = invitation_pending_for(request)
    if invitation is not None:
        invitation_accept(invitation=invitation, user=user)
        request.session.pop(SESSION_INVITATION_KEY, None)
