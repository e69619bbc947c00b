"""Portal emails that allauth does not send (invitations), in the vendor's brand."""

from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from portal.adapters import vendor_from_email
from portal.branding import brand_for
from portal.models import Invitation


def invitation_send(request, *, invitation: Invitation, key: str) -> None:
    """Email the invitation link. The link is built from the host the inviter is on, so
    it opens the same portal (custom domain or /p/<vendor>/)."""
    brand = brand_for(invitation.vendor)
    context = {
        "brand": brand,
        "invitation": invitation,
        "link": request.build_absolute_uri(reverse("portal:invitation", args=[key])),
        "inviter": request.user.email,
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
