"""Vendor console: overview, repositories, CI push tokens, branding, staff, audit log."""

import datetime
import json

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_http_methods, require_POST

from analytics.exports import csv_stream
from customers.models import AccessToken, AuditEvent
from customers.services import TokenError, token_mint, token_revoke
from portal import selectors
from portal.branding import brand_for
from portal.forms import BrandingForm, DomainForm, InviteStaffForm, PushTokenForm, RoleForm
from portal.inventory import manifest_summary, manifest_tags, tag_summaries
from portal.invitations import (
    InvitationError,
    invitation_create,
    invitation_revoke,
    mail_configured,
)
from portal.mail import invitation_send
from portal.services import (
    PortalError,
    branding_image_remove,
    branding_update,
    domain_add,
    domain_remove,
    domain_verify,
    staff_remove,
    staff_role_change,
)
from portal.views.access import staff_page
from portal.views.confirm import confirmation_page
from portal.views.customer import (
    MINT_STALE,
    MINT_USED,
    RESUBMITTED,
    STALE_FORM,
    mint_nonce_claim,
    registry_host,
    secret_page,
)
from portal.views.invitation_link import invitation_link_page
from registry.errors import RegistryError
from registry.services.manifests import manifest_delete


@staff_page
def console_home(request):
    overview = selectors.console_overview(vendor=request.vendor)
    return render(request, "console/home.html", vars(overview))


@staff_page
def repository_list(request):
    return render(
        request,
        "console/repositories.html",
        {"repositories": selectors.repository_list(vendor=request.vendor)},
    )


def _repository_or_404(request, name):
    repository = selectors.repository_get(vendor=request.vendor, name=name)
    if repository is None:
        raise Http404("no such repository")
    return repository


@staff_page
def repository_detail(request, name):
    repository = _repository_or_404(request, name)
    return render(
        request,
        "console/repository.html",
        {
            "repository": repository,
            "tags": tag_summaries(repository=repository),
            "registry_host": registry_host(),
        },
    )


@staff_page(write_permission="repositories.manage")
@require_http_methods(["GET", "POST"])
def manifest_detail(request, name, digest):
    repository = _repository_or_404(request, name)
    summary = manifest_summary(repository=repository, digest=digest)
    if summary is None:
        raise Http404("no such manifest")
    return render(
        request,
        "console/manifest.html",
        {
            "repository": repository,
            "manifest": summary,
            "tags": manifest_tags(repository=repository, digest=digest),
        },
    )


@staff_page(permission="repositories.manage")
@require_POST
def repository_delete_reference(request, name):
    """Delete a tag (the manifest stays) or a manifest by digest (its tags go with it)."""
    repository = _repository_or_404(request, name)
    reference = request.POST.get("reference", "")
    by_digest = reference.startswith("sha256:") or reference.startswith("sha512:")
    ask = confirmation_page(
        request,
        title=f"Delete {'manifest' if by_digest else 'tag'} {reference} of {repository.name}?",
        consequence=(
            "The manifest and every tag on it are removed; clients pinned to this digest "
            "can no longer pull it."
            if by_digest
            else f"Clients pulling {repository.name}:{reference} get “manifest unknown”. "
            "The manifest stays, and so do other tags on it."
        ),
        action="Delete",
        back_url=reverse("portal:console-repository", args=[repository.name]),
    )
    if ask:
        return ask
    try:
        manifest_delete(repository=repository, reference=reference, actor=f"user:{request.user.pk}")
    except RegistryError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Deleted {reference}.")
    return redirect("portal:console-repository", name=repository.name)


@staff_page(write_permission="tokens.manage")
@require_http_methods(["GET", "POST"])
def push_tokens(request):
    form = PushTokenForm(request.POST or None)
    minted = None
    status = 200
    if request.method == "POST" and form.is_valid():
        claim = mint_nonce_claim(request)
        if claim == MINT_USED:
            form, status = PushTokenForm(), 409
            messages.warning(request, RESUBMITTED)
        elif claim == MINT_STALE:
            form.add_error(None, STALE_FORM)
        else:
            actions = ["pull", "push"] + (["delete"] if form.cleaned_data["allow_delete"] else [])
            try:
                minted = token_mint(
                    vendor=request.vendor,
                    kind=AccessToken.Kind.PUSH,
                    name=form.cleaned_data["name"],
                    expires_at=form.expires_at(),
                    repository_patterns=form.patterns(),
                    actions=actions,
                    created_by=request.user,
                )
            except TokenError as exc:
                form.add_error(None, str(exc))
            else:
                form, status = PushTokenForm(), 201
    return secret_page(
        request,
        "console/tokens.html",
        {
            "form": form,
            "minted": minted,  # the secret is in this one response and nowhere else
            "tokens": selectors.push_tokens(vendor=request.vendor),
            "registry_host": registry_host(),
        },
        status=400 if form.errors else status,
    )


@staff_page(permission="tokens.manage")
@require_POST
def push_token_revoke(request, token_id):
    token = selectors.token_get(vendor=request.vendor, token_id=token_id)
    if token is None:
        raise Http404("no such token")
    ask = confirmation_page(
        request,
        title=f"Revoke CI token “{token.name}”?",
        consequence="Pushes with this token are refused from the next request on. "
        "This cannot be undone.",
        action="Revoke token",
        back_url=reverse("portal:console-tokens"),
    )
    if ask:
        return ask
    if token_revoke(token=token, revoked_by=request.user):
        messages.success(request, f"Token “{token.name}” revoked.")
    return redirect("portal:console-tokens")


@staff_page(permission="branding.manage")
@require_POST
def branding_image_remove_view(request, image):
    if image not in ("logo", "favicon"):
        raise Http404("no such image")
    if branding_image_remove(vendor=request.vendor, image=image, removed_by=request.user):
        messages.success(request, f"{image.capitalize()} removed.")
    return redirect("portal:console-branding")


@staff_page(permission="branding.manage")
@require_http_methods(["GET", "POST"])
def branding(request):
    brand = brand_for(request.vendor)
    form = BrandingForm(
        request.POST or None,
        request.FILES or None,
        initial={
            "display_name": brand.display_name,
            "primary_color": brand.primary,
            "accent_color": brand.accent,
            "support_url": brand.support_url,
            "support_email": brand.support_email,
            "footer_text": brand.footer_text,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            branding_update(
                vendor=request.vendor,
                data=form.cleaned_data,
                logo=form.cleaned_data.get("logo"),
                favicon=form.cleaned_data.get("favicon"),
                updated_by=request.user,
            )
        except (PortalError, ValidationError) as exc:
            form.add_error(None, "; ".join(getattr(exc, "messages", [str(exc)])))
        else:
            messages.success(request, "Branding saved.")
            return redirect("portal:console-branding")
    return render(
        request,
        "console/branding.html",
        {
            "form": form,
            "domain_form": DomainForm(),
            "domains": request.vendor.domains.all(),
            "public_portal_url": f"{settings.DISTR_PUBLIC_URL}/p/{request.vendor.slug}/",
        },
        status=400 if form.errors else 200,
    )


@staff_page(permission="branding.manage")
@require_POST
def domain_add_view(request):
    form = DomainForm(request.POST)
    if form.is_valid():
        try:
            domain_add(vendor=request.vendor, host=form.cleaned_data["host"], added_by=request.user)
        except (PortalError, ValidationError) as exc:
            messages.error(request, "; ".join(getattr(exc, "messages", [str(exc)])))
        else:
            messages.success(
                request, "Domain added. Publish its TXT record, then verify it (steps below)."
            )
    return redirect("portal:console-branding")


@staff_page(permission="branding.manage")
@require_POST
def domain_verify_view(request, domain_id):
    domain = request.vendor.domains.filter(pk=domain_id).first()
    if domain is None:
        raise Http404("no such domain")
    try:
        domain_verify(domain=domain, checked_by=request.user)
    except PortalError as exc:
        messages.error(request, f"{domain.host} is not verified: {exc}.")
    else:
        messages.success(request, f"{domain.host} is verified and now serves this portal.")
    return redirect("portal:console-branding")


@staff_page(permission="branding.manage")
@require_POST
def domain_remove_view(request, domain_id):
    domain = request.vendor.domains.filter(pk=domain_id).first()
    if domain is None:
        raise Http404("no such domain")
    domain_remove(domain=domain, removed_by=request.user)
    messages.success(request, f"{domain.host} removed.")
    return redirect("portal:console-branding")


@staff_page(write_permission="staff.manage")
@require_http_methods(["GET", "POST"])
def staff(request):
    form = InviteStaffForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            invitation, key = invitation_create(
                vendor=request.vendor,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                invited_by=request.user,
            )
        except InvitationError as exc:
            form.add_error("email", str(exc))
        else:
            if not mail_configured():
                return invitation_link_page(
                    request,
                    invitation=invitation,
                    key=key,
                    back_url=reverse("portal:console-staff"),
                )
            invitation_send(request, invitation=invitation, key=key)
            messages.success(request, f"Invitation sent to {invitation.email}.")
            return redirect("portal:console-staff")
    return render(
        request,
        "console/staff.html",
        {
            "form": form,
            "members": selectors.staff_members(vendor=request.vendor),
            "invitations": selectors.open_invitations(vendor=request.vendor, customer=None),
            "role_form": RoleForm(),
        },
        status=400 if form.errors else 200,
    )


def _member_or_404(request, member_id):
    member = selectors.staff_member_get(vendor=request.vendor, member_id=member_id)
    if member is None:
        raise Http404("no such member")
    return member


@staff_page(permission="staff.manage")
@require_POST
def staff_role(request, member_id):
    member = _member_or_404(request, member_id)
    form = RoleForm(request.POST)
    if form.is_valid():
        try:
            staff_role_change(
                member=member, role=form.cleaned_data["role"], changed_by=request.user
            )
        except PortalError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, "Role changed.")
    return redirect("portal:console-staff")


@staff_page(permission="staff.manage")
@require_POST
def staff_remove_view(request, member_id):
    member = _member_or_404(request, member_id)
    try:
        staff_remove(member=member, removed_by=request.user)
    except PortalError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Staff member removed.")
    return redirect("portal:console-staff")


@staff_page(permission="staff.manage")
@require_POST
def staff_invitation_revoke(request, invitation_id):
    invitation = selectors.invitation_get(
        vendor=request.vendor, invitation_id=invitation_id, customer=None
    )
    if invitation is None:
        raise Http404("no such invitation")
    invitation_revoke(invitation=invitation, revoked_by=request.user)
    messages.success(request, f"Invitation for {invitation.email} withdrawn.")
    return redirect("portal:console-staff")


def _date(value: str):
    try:
        return datetime.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _audit_filters(request) -> dict:
    filters = {
        "action": request.GET.get("action", ""),
        "actor": request.GET.get("actor", "").strip(),
        "since": _date(request.GET.get("since", "")),
        "until": _date(request.GET.get("until", "")),
    }
    if filters["action"] not in AuditEvent.Action.values:
        filters["action"] = ""
    return filters


@staff_page
def audit_log(request):
    filters = _audit_filters(request)
    before = request.GET.get("before", "")
    events = list(
        selectors.audit_events(
            vendor=request.vendor,
            before_id=int(before) if before.isdigit() else None,
            **filters,
        )
    )
    more = len(events) > selectors.AUDIT_PAGE
    events = events[: selectors.AUDIT_PAGE]
    labels = selectors.audit_actor_labels(vendor=request.vendor, actors={e.actor for e in events})
    for event in events:
        event.actor_label = labels.get(event.actor, event.actor)
    query = request.GET.copy()
    query.pop("before", None)
    return render(
        request,
        "console/audit.html",
        {
            "events": events,
            "filters": filters,
            "actions": AuditEvent.Action.values,
            "next_before": events[-1].pk if more and events else None,
            "query": query.urlencode(),
        },
    )


AUDIT_CSV_COLUMNS = ["when", "action", "actor", "actor_id", "target", "from", "details"]


@staff_page
def audit_export(request):
    """The filtered log as CSV, every row (streamed in batches: any length, flat memory)."""
    events = selectors.audit_events(vendor=request.vendor, limit=None, **_audit_filters(request))

    def rows():
        batch = []
        for event in events.iterator(chunk_size=500):
            batch.append(event)
            if len(batch) == 500:
                yield from _audit_rows(request.vendor, batch)
                batch = []
        yield from _audit_rows(request.vendor, batch)

    response = StreamingHttpResponse(
        csv_stream(rows(), AUDIT_CSV_COLUMNS), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="audit-log.csv"'
    add_never_cache_headers(response)
    return response


def _audit_rows(vendor, events):
    labels = selectors.audit_actor_labels(vendor=vendor, actors={e.actor for e in events})
    for event in events:
        yield {
            "when": event.created_at.isoformat(),
            "action": event.action,
            "actor": labels.get(event.actor, event.actor),
            "actor_id": event.actor,
            "target": event.target,
            "from": event.client_address,
            "details": json.dumps(event.details, sort_keys=True) if event.details else "",
        }
