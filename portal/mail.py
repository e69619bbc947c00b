"""Portal emails that allauth does not send (invitations), in the vendor's brand."""

from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from portal.adapters import vendor_from_email
from portal.branding import brand_for
from portal.models import Invitation
from portal.tenancy import portal_link


def invitation_send(request, *, invitation: Invitation, key: str) -> None:
    """Email the invitation link, built from configuration (the vendor's verified domain the
    inviter is on, or the public URL's /p/<vendor>/), never from the text of the Host
    header (a forged Host would otherwise put the key in a link to the forger's server)."""
    brand = brand_for(invitation.vendor)
    context = {
        "brand": brand,
        "invitation": invitation,
        "link": portal_link(
            vendor=invitation.vendor,
            path=reverse("portal:invitation", args=[key]),
            request=request,
        ),
        # An API token has no email: the vendor invites.
        "inviter": getattr(request.user, "email", "") or brand.display_name,
    }
    subject = render_to_string("portal/email/invitation_subject.txt", context).strip()
    body = render_to_string("portal/email/invitation_message.txt", context)
    message = EmailMultiAlternatives(
        subject=f"[{brand.display_name}] {subject}",
        body=body,
        from_email=vendor_from_email(invitation.vendor),
        to=[invitation.email],
        reply_to=[brand.support_email] if brand.support_email else None,
    )
    message.send()
