"""When no mail is configured, the inviter gets the invitation link to pass on.

The key is in this one response only (the database keeps its hash), so the page is sent
with `Cache-Control: no-store`, like a new token's secret; reloading it shows nothing new
(the form that created it redirects nowhere and is not re-posted by a reload prompt)."""

from django.shortcuts import render
from django.urls import reverse

from portal.models import Invitation
from portal.tenancy import portal_link


def invitation_link_page(request, *, invitation: Invitation, key: str, back_url: str):
    link = portal_link(
        vendor=invitation.vendor,
        path=reverse("portal:invitation", args=[key]),
        request=request,
    )
    response = render(
        request,
        "portal/invitation_link.html",
        {"invitation": invitation, "link": link, "back_url": back_url},
        status=201,
    )
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response
