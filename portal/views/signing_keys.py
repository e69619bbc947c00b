"""The vendor's signing keys: published for verifiers (a JWKS and one PEM per key, no
sign-in: a customer's air-gapped software must be able to fetch them once), and managed
by vendor admins in the console (rotate, retire), through signing.services (audited)."""

from django.contrib import messages
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from portal.views.access import portal_page, staff_page
from portal.views.confirm import confirmation_page
from signing.published import jwks_url
from signing.selectors import jwks, key_public_view, signing_keys_list, verification_key
from signing.services import SigningKeyError, signing_key_current, signing_key_retire
from signing.services import signing_key_rotate as rotate

# Verifiers may cache the set briefly; a rotation shows within five minutes, and a
# retirement is enforced by distr itself at once (check-ins, downloads) whatever they cache.
_PUBLIC_CACHE = "public, max-age=300"


@portal_page
@require_GET
def public_jwks(request):
    signing_key_current(vendor=request.vendor)  # the first key is made on first use
    response = JsonResponse(jwks(vendor=request.vendor), content_type="application/jwk-set+json")
    response["Cache-Control"] = _PUBLIC_CACHE
    response["Access-Control-Allow-Origin"] = "*"  # public keys: any verifier may read them
    return response


@portal_page
@require_GET
def public_key_pem(request, kid: str):
    key = verification_key(vendor=request.vendor, kid=kid)
    if key is None:
        raise Http404("no such key, or it is retired")
    response = HttpResponse(
        key_public_view(key)["pem"], content_type="application/x-pem-file; charset=utf-8"
    )
    response["Content-Disposition"] = f'inline; filename="{kid}.pem"'
    response["Cache-Control"] = _PUBLIC_CACHE
    return response


@staff_page
@require_GET
def console_signing_keys(request):
    signing_key_current(vendor=request.vendor)
    return render(
        request,
        "console/signing_keys.html",
        {
            "keys": [key_public_view(k) for k in signing_keys_list(vendor=request.vendor)],
            "jwks_url": jwks_url(request.vendor),
        },
    )


@staff_page(permission="signing_keys.manage")
@require_POST
def console_signing_key_rotate(request):
    ask = confirmation_page(
        request,
        title="Rotate the signing key?",
        consequence="A new key signs kits and license keys from now on. The current key "
        "keeps verifying what it signed until you retire it.",
        action="Rotate key",
        back_url=reverse("portal:console-signing-keys"),
    )
    if ask:
        return ask
    key = rotate(vendor=request.vendor, by=request.user)
    messages.success(request, f"New signing key {key.kid} is current.")
    return redirect("portal:console-signing-keys")


@staff_page(permission="signing_keys.manage")
@require_POST
def console_signing_key_retire(request, kid: str):
    ask = confirmation_page(
        request,
        title=f"Retire signing key {kid}?",
        consequence="Kits and license keys it signed stop verifying, here and for every "
        "verifier that refreshes the published keys. This cannot be undone.",
        action="Retire key",
        back_url=reverse("portal:console-signing-keys"),
    )
    if ask:
        return ask
    try:
        signing_key_retire(vendor=request.vendor, kid=kid, by=request.user)
    except SigningKeyError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Signing key {kid} retired.")
    return redirect("portal:console-signing-keys")
