"""The customer's Kits page: choose what to take across the air gap, see its size, build
it (full, or a delta since an earlier kit), download it, and verify it offline."""

import re

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from airgap.content import KitEmpty
from airgap.download import kit_serve
from airgap.selectors import KitNotFound, KitRefused, kit_get, kit_list
from airgap.services import KitInvalid, kit_create, kit_preview
from portal.views.access import customer_page
from signing.published import jwks_url
from signing.selectors import key_public_view, signing_keys_list

PLATFORM = re.compile(r"[a-z0-9]+/[a-z0-9_]+(/[a-z0-9]+)?")


def kit_request_parse(post, *, vendor, customer) -> dict:
    """The form's choice -> kit_create arguments (tags, newest, since, platforms)."""
    platforms = post.get("platforms", "").replace(",", " ").split()
    if any(not PLATFORM.fullmatch(p) for p in platforms):
        raise KitInvalid("platforms are os/arch or os/arch/variant, e.g. linux/amd64")
    tags = [t.strip() for t in post.get("tags", "").replace(",", " ").split() if t.strip()]
    newest = post.get("newest", "").strip()
    since = post.get("since", "").strip()
    return {
        "tags": tags,
        "newest": int(newest) if newest.isdigit() and int(newest) > 0 else None,
        "since": kit_get(vendor=vendor, customer=customer, kit_id=since) if since else None,
        "platforms": platforms,
    }


def kits_context(request, customer) -> dict:
    vendor = request.vendor
    return {
        "kits": kit_list(vendor=vendor, customer=customer),
        "signing_keys": [key_public_view(k) for k in signing_keys_list(vendor=vendor)],
        "jwks_url": jwks_url(vendor),
    }


@customer_page
@require_http_methods(["GET", "POST"])
def kits(request):
    customer = request.portal.customer
    context = kits_context(request, customer)
    if request.method == "POST":
        try:
            arguments = kit_request_parse(request.POST, vendor=request.vendor, customer=customer)
            if request.POST.get("action") == "preview":
                context["preview"] = kit_preview(customer=customer, **arguments)
                context["form"] = request.POST
                return render(request, "portal/kits.html", context)
            kit = kit_create(customer=customer, actor=f"user:{request.user.pk}", **arguments)
        except (KitEmpty, KitInvalid, KitNotFound) as exc:
            messages.error(request, str(exc) or "That earlier kit is not one of yours.")
            context["form"] = request.POST
            return render(request, "portal/kits.html", context, status=400)
        messages.success(request, f"Kit {kit.pk} is ready to download.")
        return redirect("portal:kits")
    return render(request, "portal/kits.html", context)


@customer_page
@require_http_methods(["GET", "HEAD"])
def kit_download(request, kit_id):
    try:
        kit = kit_get(vendor=request.vendor, customer=request.portal.customer, kit_id=kit_id)
    except KitNotFound:
        raise Http404("no such kit") from None
    return kit_download_response(request, kit, actor=f"user:{request.user.pk}")


def kit_download_response(request, kit, *, actor: str):
    try:
        return kit_serve(request, kit, actor=actor)
    except KitRefused as exc:
        return render(request, "portal/kit_refused.html", {"reason": str(exc)}, status=403)
