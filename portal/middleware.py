"""Portal tenancy: find the request's vendor, and keep sessions inside their portal."""

from django.contrib.auth.models import AnonymousUser
from django.http import Http404
from django.urls import get_script_prefix, set_script_prefix

from customers.models import slug_validator
from customers.selectors import vendor_get
from portal.tenancy import PortalAccess

SESSION_VENDOR_KEY = "portal_vendor_id"

# Paths that never belong to a portal: answered without a vendor lookup, so the registry's
# hot paths pay nothing for the portal.
_NOT_PORTAL = ("/v2/", "/v2", "/static/", "/admin/", "/api/", "/healthz", "/readyz", "/metrics")
# Portal pages load only their own stylesheet, script and images (and the data: QR code of
# TOTP set-up): no inline script or style, nothing from elsewhere, no framing.
PORTAL_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
# allauth's pages only exist inside a portal.
_PORTAL_ONLY = ("/accounts/",)


class PortalTenantMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.vendor = None
        request.portal = None
        path = request.path_info
        if path.startswith(_NOT_PORTAL):
            return self.get_response(request)

        original_prefix = get_script_prefix()
        # The host gate (portal/hosts.py) already found the verified domain's vendor, if any.
        vendor = getattr(request, "host_vendor", None)
        if vendor is None and path.startswith("/p/"):
            slug, _, rest = path[3:].partition("/")
            # Only a slug-shaped prefix is looked up (a NUL in a query is a database error).
            shaped = len(slug) <= 64 and slug_validator.regex.match(slug)
            vendor = vendor_get(slug=slug) if shaped else None
            if vendor is not None:
                # /p/acme/tokens/ resolves as /tokens/, and reverse() adds /p/acme/ back.
                request.path_info = "/" + rest
                set_script_prefix(f"{original_prefix}p/{slug}/")
        if vendor is None and request.path_info.startswith(_PORTAL_ONLY):
            raise Http404("no portal here")
        request.vendor = vendor
        if vendor is not None:
            user = request.user
            if user.is_authenticated and request.session.get(SESSION_VENDOR_KEY) != vendor.id:
                # A session opened on another vendor's portal (or /admin/) is not a login
                # here: the user is anonymous on this portal.
                request.user = AnonymousUser()
            request.portal = PortalAccess(vendor=vendor, user=request.user)
        try:
            response = self.get_response(request)
        finally:
            set_script_prefix(original_prefix)
        if vendor is not None:
            response.headers.setdefault("Content-Security-Policy", PORTAL_CSP)
        return response
