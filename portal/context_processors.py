from portal.branding import brand_for
from portal.tenancy import STAFF_PERMISSIONS


def portal(request) -> dict:
    vendor = getattr(request, "vendor", None)
    if vendor is None:
        return {"brand": None, "portal": None, "can": {}}
    if not hasattr(request, "_brand"):
        request._brand = brand_for(vendor)
    access = request.portal
    # What the staff member may change, for hiding actions: `can.licenses_manage`.
    can = {
        permission.replace(".", "_"): access.staff_can(permission)
        for permission in STAFF_PERMISSIONS
    }
    return {
        "brand": request._brand,
        "portal": access,
        "can": can,
        "signup_invitation": _signup_invitation(request),
    }


def _signup_invitation(request) -> dict | None:
    """On the sign-up page, the invitation it accepts: who invited whom to what."""
    match = getattr(request, "resolver_match", None)
    if match is None or match.url_name != "account_signup":
        return None
    from portal.invitations import invitation_pending_for

    invitation = invitation_pending_for(request)
    if invitation is None:
        return None
    return {
        "email": invitation.email,
        "role": invitation.role,
        "customer": invitation.customer.name if invitation.customer else "",
        "inviter": invitation.invited_by.email if invitation.invited_by else "The vendor",
        "portal_name": request._brand.display_name,
    }
