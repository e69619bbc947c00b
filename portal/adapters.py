"""allauth, white-labelled: sign-up only through an invitation, emails in the vendor's
name, logins only on a portal the user belongs to."""

from urllib.parse import quote

from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter
from django import forms
from django.conf import settings
from django.contrib import messages
from django.shortcuts import render
from django.urls import reverse

from portal.branding import brand_for
from portal.invitations import invitation_pending_for
from portal.tenancy import portal_link, user_may_enter

# Links allauth builds itself (not through an adapter method), by mail template.
_ALLAUTH_LINKS = {
    "account/email/account_already_exists": {
        "signup_url": "account_signup",
        "password_reset_url": "account_reset_password",
    },
    "account/email/unknown_account": {"signup_url": "account_signup"},
}


class PortalAccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request) -> bool:
        return invitation_pending_for(request) is not None

    def is_email_verified(self, request, email: str) -> bool:
        # Following the invitation link proved the address.
        invitation = invitation_pending_for(request)
        return invitation is not None and invitation.email.lower() == email.lower()

    def clean_email(self, email: str) -> str:
        email = super().clean_email(email)
        invitation = invitation_pending_for(self.request) if self.request else None
        if invitation is not None and invitation.email.lower() != email.lower():
            raise forms.ValidationError(f"This invitation is for {invitation.email}.")
        return email

    def pre_login(self, request, user, **kwargs):
        vendor = getattr(request, "vendor", None)
        if vendor is None or not (user_may_enter(user=user, vendor=vendor) or _accepting(request)):
            messages.error(request, "This account cannot sign in on this portal.")
            return render(request, "account/account_inactive.html", status=403)
        return super().pre_login(request, user, **kwargs)

    # Links in allauth's mails come from configuration (the vendor's verified domain or the
    # public URL), never from the request's Host: allauth would build them with
    # request.build_absolute_uri(), so a reset requested with a forged Host mailed the key
    # to the forger's server.
    def get_reset_password_from_key_url(self, key: str) -> str:
        path = reverse("account_reset_password_from_key", kwargs={"uidb36": "UID", "key": "KEY"})
        return self._link(path.replace("UID-KEY", quote(key)))

    def get_email_confirmation_url(self, request, emailconfirmation) -> str:
        return self._link(reverse("account_confirm_email", args=[emailconfirmation.key]))

    def _link(self, path: str) -> str:
        vendor = getattr(self.request, "vendor", None)
        if vendor is None:  # allauth's pages exist only inside a portal; be safe anyway
            return settings.DISTR_PUBLIC_URL + path
        return portal_link(vendor=vendor, path=path, request=self.request)

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        vendor = getattr(self.request, "vendor", None)
        if vendor is not None:
            context = {**context, "brand": brand_for(vendor)}
        for key, name in _ALLAUTH_LINKS.get(template_prefix, {}).items():
            context = {**context, key: self._link(reverse(name))}
        super().send_mail(template_prefix, email, context)

    def format_email_subject(self, subject: str) -> str:
        vendor = getattr(self.request, "vendor", None)
        name = brand_for(vendor).display_name if vendor is not None else "distr"
        return f"[{name}] {subject}"

    def get_from_email(self) -> str:
        vendor = getattr(self.request, "vendor", None)
        return vendor_from_email(vendor)


def _accepting(request) -> bool:
    return invitation_pending_for(request) is not None


def vendor_from_email(vendor) -> str:
    """DEFAULT_FROM_EMAIL's address under the vendor's display name."""
    from email.utils import formataddr, parseaddr

    from django.conf import settings

    _, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    if vendor is None:
        return settings.DEFAULT_FROM_EMAIL
    return formataddr((brand_for(vendor).display_name, address))


class PortalMFAAdapter(DefaultMFAAdapter):
    def get_totp_issuer(self) -> str:
        """Authenticator apps list the code under the vendor's name, not the server's."""
        from allauth.core import context

        vendor = getattr(context.request, "vendor", None)
        if vendor is not None and not settings.MFA_TOTP_ISSUER:
            return brand_for(vendor).display_name
        return super().get_totp_issuer()
