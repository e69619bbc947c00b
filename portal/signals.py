"""Bind a portal login to the portal it happened on (see PortalTenantMiddleware)."""

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from portal.middleware import SESSION_VENDOR_KEY


@receiver(user_logged_in)
def bind_session_to_portal(sender, request, user, **kwargs):
    vendor = getattr(request, "vendor", None)
    if vendor is not None:
        request.session[SESSION_VENDOR_KEY] = vendor.id
    else:
        request.session.pop(SESSION_VENDOR_KEY, None)
