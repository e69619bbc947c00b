"""The customer side of the portal: licenses, what to pull, tokens, team."""

import secrets

from django.conf import settings
from django.contrib import messages
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from customers.services import TokenError, member_release_notices_set, token_mint, token_revoke
from portal import selectors
from portal.commands import login_commands, pull_commands, registry_plain_http
from portal.forms import InviteCustomerUserForm, TokenMintForm
from portal.invitations import (
    InvitationError,
    invitation_create,
    invitation_revoke,
    mail_configured,
)
from portal.mail import invitation_send
from portal.services import customer_member_remove
from portal.views.access import customer_page
from portal.views.confirm import confirmation_page
from portal.views.invitation_link import invitation_link_page


def registry_host() -> str:
    return settings.REGISTRY_SERVICE


# --- pages that show a new token secret -------------------------------------------------
#
# The secret exists only in the answer to the POST that minted it (nothing but its hash is
# stored: not in the session, which lives in the database, nor in a URL), so that answer
# is sent with `Cache-Control: no-store`, and the mint form carries a one-time nonce: a
# re-submission (reloading the answer, a double click) finds the nonce spent and mints
# nothing.

MINT_NONCE_FIELD = "mint_nonce"
MINT_NONCE_MAX_AGE = 12 * 3600  # a form left open longer asks to be submitted again
MINT_FRESH, MINT_USED, MINT_STALE = "fresh", "used", "stale"
RESUBMITTED = (
    "This form was already submitted and its token created; the secret was shown only in "
    "the answer to that submission. If you did not copy it, revoke that token and create "
    "another."
)
STALE_FORM = "This form has expired. Check the details and submit it again."


def _mint_salt(request) -> str:
    return f"portal.token-mint:{request.vendor.pk}:{request.user.pk}"


def mint_nonce(request) -> str:
    """A one-time nonce for a mint form, bound to this vendor and user."""
    return signing.dumps(secrets.token_hex(16), salt=_mint_salt(request))


def mint_nonce_claim(request) -> str:
    """Spend the POSTed nonce: MINT_FRESH the first time, MINT_USED on a re-submission,
    MINT_STALE when missing, forged, another user's or expired. `cache.add` is atomic in
    the cache every process shares, so two concurrent submissions cannot both win."""
    try:
        nonce = signing.loads(
            request.POST.get(MINT_NONCE_FIELD, ""),
            salt=_mint_salt(request),
            max_age=MINT_NONCE_MAX_AGE,
        )
    except signing.BadSignature:
        return MINT_STALE
    if cache.add(f"portal:token-mint:{nonce}", True, timeout=MINT_NONCE_MAX_AGE + 60):
        return MINT_FRESH
    return MINT_USED


def secret_page(request, template: str, context: dict, *, status: int):
    """Render a token page (which may show a secret): never stored by a cache."""
    response = render(
        request, template, {**context, "mint_nonce": mint_nonce(request)}, status=status
    )
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


@customer_page
def overview(request):
    access = request.portal
    licenses = selectors.license_views(vendor=request.vendor, customer=access.customer)
    return render(
        request,
        "portal/overview.html",
        {
            "licenses": licenses,
            "expiring": [lic for lic in licenses if lic.expiring_soon],
            "token_count": selectors.customer_tokens(
                vendor=request.vendor, customer=access.customer
            )
            .filter(revoked_at__isnull=True)
            .count(),
        },
    )


@customer_page
def artifacts(request):
    customer = request.portal.customer
    host = registry_host()
    repositories = selectors.customer_artifacts(vendor=request.vendor, customer=customer)
    listed = [
        (
            repo,
            [
                (
                    tag,
                    pull_commands(
                        host=host,
                        repository=repo.name,
                        tag=tag.name,
                        kind=tag.manifest.kind,
                        digest=tag.manifest.digest,
                    ),
                )
                for tag in repo.tags
            ],
        )
        for repo in repositories
    ]
    kinds = {tag.manifest.kind for repo in repositories for tag in repo.tags}
    return render(
        request,
        "portal/artifacts.html",
        {
            "repositories": repositories,
            "listed": listed,  # each repository's tags with their commands
            "logins": login_commands(host=host, user=customer.slug, kinds=kinds),
            "has_images": bool(kinds & {"image", "multi-platform image"}),
            "plain_http": registry_plain_http(),
            "registry_host": host,
            "login_user": customer.slug,
            "release_notices": request.portal.customer_member.release_notices,
        },
    )


@customer_page
@require_POST
def release_notices(request):
    """Opt in to (or out of) an email for each new release the user may pull."""
    member = request.portal.customer_member
    enabled = request.POST.get("release_notices") == "on"
    member_release_notices_set(member=member, enabled=enabled)
    messages.success(
        request,
        "You will get an email for each new release you may pull."
        if enabled
        else "Release emails are off.",
    )
    return redirect("portal:artifacts")


@customer_page
@require_http_methods(["GET", "POST"])
def tokens(request):
    customer = request.portal.customer
    form = TokenMintForm(request.POST or None)
    minted = None
    status = 200
    if request.method == "POST" and form.is_valid():
        claim = mint_nonce_claim(request)
        if claim == MINT_USED:
            form, status = TokenMintForm(), 409
            messages.warning(request, RESUBMITTED)
        elif claim == MINT_STALE:
            form.add_error(None, STALE_FORM)
        else:
            try:
                minted = token_mint(
                    vendor=request.vendor,
                    customer=customer,
                    kind="pull",
                    name=form.cleaned_data["name"],
                    expires_at=form.expires_at(),
                    created_by=request.user,
                )
            except TokenError as exc:
                form.add_error(None, str(exc))
            else:
                form, status = TokenMintForm(), 201
    return secret_page(
        request,
        "portal/tokens.html",
        {
            "form": form,
            "minted": minted,  # the secret is in this one response and nowhere else
            "tokens": selectors.customer_tokens(vendor=request.vendor, customer=customer),
            "registry_host": registry_host(),
            "login_user": customer.slug,
        },
        status=400 if form.errors else status,
    )


@customer_page
@require_POST
def token_revoke_view(request, token_id: int):
    access = request.portal
    token = selectors.token_get(vendor=request.vendor, token_id=token_id, customer=access.customer)
    if token is None:
        raise Http404("no such token")
    if not access.is_customer_admin and token.created_by_id != request.user.pk:
        messages.error(request, "Only its creator or an admin can revoke this token.")
        return redirect("portal:tokens")
    ask = confirmation_page(
        request,
        title=f"Revoke token “{token.name}”?",
        consequence="Every machine that pulls with this token is refused from the next "
        "request on. This cannot be undone: a new token would have a new secret.",
        action="Revoke token",
        back_url=reverse("portal:tokens"),
    )
    if ask:
        return ask
    if token_revoke(token=token, revoked_by=request.user):
        messages.success(request, f"Token “{token.name}” revoked. It stops working at once.")
    return redirect("portal:tokens")


@customer_page
@require_http_methods(["GET", "POST"])
def team(request):
    access = request.portal
    form = InviteCustomerUserForm(request.POST or None)
    if request.method == "POST":
        if not access.is_customer_admin:
            raise PermissionDenied("Only your organisation's admins can invite.")
        if form.is_valid():
            try:
                invitation, key = invitation_create(
                    vendor=request.vendor,
                    customer=access.customer,
                    email=form.cleaned_data["email"],
                    role=form.cleaned_data["role"],
                    invited_by=request.user,
                )
            except InvitationError as exc:
                form.add_error("email", str(exc))
            else:
                if not mail_configured():
                    return invitation_link_page(
                        request, invitation=invitation, key=key, back_url=reverse("portal:team")
                    )
                invitation_send(request, invitation=invitation, key=key)
                messages.success(request, f"Invitation sent to {invitation.email}.")
                return redirect("portal:team")
    return render(
        request,
        "portal/team.html",
        {
            "form": form,
            "members": selectors.customer_members(vendor=request.vendor, customer=access.customer),
            "invitations": selectors.open_invitations(
                vendor=request.vendor, customer=access.customer
            ),
        },
        status=400 if form.errors else 200,
    )


@customer_page(admin=True)
@require_POST
def team_remove(request, member_id: int):
    access = request.portal
    member = selectors.customer_member_get(
        vendor=request.vendor, customer=access.customer, member_id=member_id
    )
    if member is None:
        raise Http404("no such member")
    if member.user_id == request.user.pk:
        messages.error(request, "You cannot remove yourself.")
    else:
        customer_member_remove(member=member, removed_by=request.user)
        messages.success(request, f"{member.user.email} no longer has access.")
    return redirect("portal:team")


@customer_page(admin=True)
@require_POST
def team_invitation_revoke(request, invitation_id: int):
    invitation = selectors.invitation_get(
        vendor=request.vendor, invitation_id=invitation_id, customer=request.portal.customer
    )
    if invitation is None:
        raise Http404("no such invitation")
    invitation_revoke(invitation=invitation, revoked_by=request.user)
    messages.success(request, f"Invitation for {invitation.email} withdrawn.")
    return redirect("portal:team")
