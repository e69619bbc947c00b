"""Vendor console: API tokens for the JSON API (vendor admins only). Minted and revoked
through the same services as every token (audited there); the secret is shown in the one
answer to the mint, on a page no cache keeps, as for CI push tokens."""

from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from customers.models import AccessToken
from customers.selectors import api_token_get, api_tokens_list
from customers.services import TokenError, token_mint, token_revoke
from portal.forms import ApiTokenForm
from portal.views.access import staff_page
from portal.views.confirm import confirmation_page
from portal.views.customer import (
    MINT_STALE,
    MINT_USED,
    RESUBMITTED,
    STALE_FORM,
    mint_nonce_claim,
    secret_page,
)


@staff_page(permission="api_tokens.manage")
@require_http_methods(["GET", "POST"])
def api_tokens(request):
    form = ApiTokenForm(request.POST or None)
    minted = None
    status = 200
    if request.method == "POST" and form.is_valid():
        claim = mint_nonce_claim(request)
        if claim == MINT_USED:
            form, status = ApiTokenForm(), 409
            messages.warning(request, RESUBMITTED)
        elif claim == MINT_STALE:
            form.add_error(None, STALE_FORM)
        else:
            try:
                minted = token_mint(
                    vendor=request.vendor,
                    kind=AccessToken.Kind.API,
                    name=form.cleaned_data["name"],
                    scopes=form.cleaned_data["scopes"],
                    expires_at=form.expires_at(),
                    created_by=request.user,
                )
            except TokenError as exc:
                form.add_error(None, str(exc))
            else:
                form, status = ApiTokenForm(), 201
    return secret_page(
        request,
        "console/api_tokens.html",
        {
            "form": form,
            "minted": minted,  # the secret is in this one response and nowhere else
            "tokens": api_tokens_list(vendor=request.vendor),
            "api_url": f"{settings.DISTR_PUBLIC_URL}/api/v1/",
            "now": timezone.now(),  # for the "expired" state
        },
        status=400 if form.errors else status,
    )


@staff_page(permission="api_tokens.manage")
@require_POST
def api_token_revoke(request, token_id):
    token = api_token_get(vendor=request.vendor, token_id=token_id)
    if token is None:
        raise Http404("no such token")
    ask = confirmation_page(
        request,
        title=f"Revoke API token “{token.name}”?",
        consequence="Every API call with this token is refused from the next request on, "
        "in every process. This cannot be undone.",
        action="Revoke token",
        back_url=reverse("portal:console-api-tokens"),
    )
    if ask:
        return ask
    if token_revoke(token=token, revoked_by=request.user):
        messages.success(request, f"API token “{token.name}” revoked.")
    else:
        messages.info(request, f"API token “{token.name}” was already revoked.")
    return redirect("portal:console-api-tokens")
