"""Portal logins are scoped to the vendor whose portal the login form is on."""

from allauth.account.auth_backends import AuthenticationBackend

from portal.invitations import invitation_pending_for


class PortalAuthenticationBackend(AuthenticationBackend):
    """allauth's email + password check, refused unless the user belongs to the request's
    vendor (as staff or as a user of an active customer) or is accepting an invitation
    there. A refusal looks exactly like a wrong password."""

    def authenticate(self, request, **credentials):
        vendor = getattr(request, "vendor", None)
        if vendor is None:
            return None
        user = super().authenticate(request, **credentials)
        if user is None:
            return None
        from portal.tenancy import user_may_enter

        if user_may_enter(user=user, vendor=vendor):
            return user
        invitation = invitation_pending_for(request)
        if invitation is not None and invitation.email.lower() == user.email.lower():
            return user
        return None
