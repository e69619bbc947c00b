"""Portal entry points: the front door, invitation links, brand images and error pages."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from portal import selectors
from portal.branding import brand_for
from portal.invitations import (
    SESSION_INVITATION_KEY,
    InvitationError,
    invitation_accept,
    invitation_get_open,
    user_exists,
)
from portal.views.access import portal_page


def home(request):
    """Staff land in the console, customer users on their overview, others sign in."""
    if getattr(request, "vendor", None) is None:
        return render(request, "portal/no_portal.html", status=404)
    if not request.user.is_authenticated:
        return redirect("account_login")
    if request.portal.is_staff:
        return redirect("portal:console-home")
    return redirect("portal:overview")


@portal_page
@require_http_methods(["GET", "POST"])
def invitation(request, key: str):
    invite = invitation_get_open(vendor=request.vendor, key=key)
    if invite is None:
        return render(request, "portal/invitation_invalid.html", status=404)
    signed_in_as = request.user.email if request.user.is_authenticated else ""
    if request.method == "POST":
        if not request.user.is_authenticated:
            return redirect(request.path)
        try:
            invitation_accept(invitation=invite, user=request.user)
        except InvitationError as exc:
            messages.error(request, str(exc))
            return redirect(request.path)
        request.session.pop(SESSION_INVITATION_KEY, None)
        messages.success(request, "Invitation accepted. Welcome!")
        return redirect("portal:home")
    # Remember the invitation in this browser session: it opens sign-up (new users) or
    # lets an existing account sign in here to accept it.
    request.session[SESSION_INVITATION_KEY] = invite.pk
    existing = user_exists(invite.email)
    if signed_in_as and signed_in_as.lower() != invite.email.lower():
        logout(request)
        request.session[SESSION_INVITATION_KEY] = invite.pk
        signed_in_as = ""
    if not existing and not signed_in_as:
        return redirect(f"{reverse('account_signup')}?email={invite.email}")
    return render(
        request,
        "portal/invitation.html",
        {"invitation": invite, "signed_in": bool(signed_in_as), "next": request.path},
    )


def _brand_image(request, field: str):
    if getattr(request, "vendor", None) is None:
        raise Http404("no portal here")
    branding = selectors.branding_image(vendor=request.vendor, field=field)
    if branding is None or not getattr(branding, f"{field}_type"):
        raise Http404("no image")
    response = HttpResponse(
        bytes(getattr(branding, field)), content_type=getattr(branding, f"{field}_type")
    )
    # Versioned URLs (?v=) make long caching safe; an SVG may never run script.
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    return response


def brand_theme(request):
    """The vendor's colours as CSS variables: a stylesheet, so pages need no inline style
    and the Content-Security-Policy can forbid it."""
    if getattr(request, "vendor", None) is None:
        raise Http404("no portal here")
    response = HttpResponse(
        f":root{{{brand_for(request.vendor).css_variables}}}\n",
        content_type="text/css; charset=utf-8",
    )
    response["Cache-Control"] = "public, max-age=31536000, immutable"  # URLs carry ?v=
    return response


_DEFAULT_FAVICON = settings.BASE_DIR / "static" / "portal" / "favicon.ico"


@require_http_methods(["GET", "HEAD"])
def favicon_ico(request):
    """`/favicon.ico`, which browsers ask for on their own: the vendor's favicon on its
    portal, else distr's icon; never a 404. The URL carries no version, so it is cached
    for a day rather than for ever (a new favicon shows within a day)."""
    vendor = getattr(request, "vendor", None)
    branding = selectors.branding_image(vendor=vendor, field="favicon")
    if branding is not None and branding.favicon_type:
        response = HttpResponse(bytes(branding.favicon), content_type=branding.favicon_type)
    else:
        response = HttpResponse(_DEFAULT_FAVICON.read_bytes(), content_type="image/x-icon")
    response["Cache-Control"] = "public, max-age=86400"
    response["Vary"] = "Host"  # each vendor's host has its own icon
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def brand_logo(request):
    return _brand_image(request, "logo")


def brand_favicon(request):
    return _brand_image(request, "favicon")


# What machine clients (the registry's, the API's) read instead of an HTML page.
_JSON_ERRORS = {
    403: ("DENIED", "requested access to the resource is denied"),
    404: ("NOT_FOUND", "not found"),
    500: ("UNKNOWN", "internal server error"),
}


def _error_page(request, template: str, status: int, message: str = ""):
    api = request.path.startswith("/api/")
    if api or request.path.startswith("/v2/") or request.path == "/v2":
        code, default = _JSON_ERRORS[status]
        text = message or default
        if status == 500 and getattr(request, "request_id", None):
            text += f" (request {request.request_id})"  # the log line carries the details
        if api:  # the REST API's one error shape (RFC 9457, docs/api.md)
            body = {"type": "about:blank", "title": code.replace("_", " ").capitalize()}
            body |= {"status": status, "detail": text}
            return JsonResponse(body, status=status, content_type="application/problem+json")
        return JsonResponse({"errors": [{"code": code, "message": text}]}, status=status)
    try:
        return render(request, template, {"message": message}, status=status)
    except Exception:  # noqa: BLE001 - the error page itself must never fail
        return HttpResponse(f"{status}", status=status, content_type="text/plain")


def error_403(request, exception=None):
    return _error_page(request, "403.html", 403, str(exception or ""))


def error_404(request, exception=None):
    return _error_page(request, "404.html", 404)


def error_500(request):
    return _error_page(request, "500.html", 500)
