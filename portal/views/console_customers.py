"""Vendor console: customers, their users and their licenses."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from customers.services import (
    CustomerDeleteRefused,
    customer_create,
    customer_delete,
    customer_set_suspended,
    customer_update,
    token_revoke,
)
from licensing.rules import RuleInvalid, repository_pattern_validate, rule_validate
from licensing.selectors import grant_preview_tags, instances_of_vendor, license_coverage
from licensing.services import (
    LicenseError,
    grant_add,
    grant_remove,
    license_create,
    license_delete,
    license_set_status,
    license_update,
)
from portal import selectors
from portal.forms import (
    CustomerEditForm,
    CustomerForm,
    GrantForm,
    InviteCustomerUserForm,
    LicenseForm,
)
from portal.invitations import (
    InvitationError,
    invitation_create,
    invitation_revoke,
    mail_configured,
)
from portal.mail import invitation_send
from portal.services import customer_member_remove
from portal.views.access import staff_page
from portal.views.confirm import confirmation_page
from portal.views.console_license_keys import license_plan_context
from portal.views.invitation_link import invitation_link_page


def _customer_or_404(request, slug):
    customer = selectors.customer_get(vendor=request.vendor, slug=slug)
    if customer is None:
        raise Http404("no such customer")
    return customer


@staff_page(write_permission="customers.manage")
@require_http_methods(["GET", "POST"])
def customer_list(request):
    form = CustomerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            customer, created = customer_create(
                vendor=request.vendor,
                slug=data["slug"],
                name=data["name"],
                contact_email=data["contact_email"],
                notes=data["notes"],
                created_by=request.user,
            )
        except ValidationError as exc:
            form.add_error("slug", "; ".join(exc.messages))
        else:
            if not created:
                form.add_error("slug", "A customer with this slug exists already.")
            else:
                messages.success(request, f"Customer {customer.name} created.")
                return redirect("portal:console-customer", slug=customer.slug)
    query = request.GET.get("q", "").strip()
    return render(
        request,
        "console/customers.html",
        {
            "customers": selectors.customer_list(vendor=request.vendor, query=query),
            "form": form,
            "query": query,
        },
        status=400 if form.errors else 200,
    )


@staff_page(write_permission="customers.manage")
@require_http_methods(["GET", "POST"])
def customer_detail(request, slug):
    customer = _customer_or_404(request, slug)
    form = CustomerEditForm(
        request.POST or None,
        initial={
            "name": customer.name,
            "contact_email": customer.contact_email,
            "notes": customer.notes,
        },
    )
    if request.method == "POST" and form.is_valid():
        customer_update(customer=customer, updated_by=request.user, **form.cleaned_data)
        messages.success(request, "Customer saved.")
        return redirect("portal:console-customer", slug=customer.slug)
    return render(
        request,
        "console/customer.html",
        {
            "customer": customer,
            "form": form,
            # Its own ids: the details form above has name and notes fields too.
            "license_form": LicenseForm(initial={"valid_from": _today()}, auto_id="license_%s"),
            "invite_form": InviteCustomerUserForm(auto_id="invite_%s"),
            "licenses": selectors.license_views(vendor=request.vendor, customer=customer),
            "members": selectors.customer_members(vendor=request.vendor, customer=customer),
            "invitations": selectors.open_invitations(vendor=request.vendor, customer=customer),
            "tokens": selectors.customer_tokens(vendor=request.vendor, customer=customer),
            "instances": instances_of_vendor(
                vendor_id=request.vendor.pk, customer_id=customer.pk, limit=100
            ),
        },
        status=400 if form.errors else 200,
    )


def _today():
    return timezone.localdate()


@staff_page(permission="customers.manage")
@require_POST
def customer_suspend(request, slug):
    customer = _customer_or_404(request, slug)
    suspend = request.POST.get("suspend") == "1"
    ask = suspend and confirmation_page(
        request,
        title=f"Suspend {customer.name}?",
        consequence=f"Every pull token of {customer.name} is refused from the next request "
        "on, and its users can no longer sign in to the portal. Resuming restores both.",
        action="Suspend customer",
        back_url=reverse("portal:console-customer", args=[customer.slug]),
    )
    if ask:
        return ask
    customer_set_suspended(customer=customer, suspended=suspend, changed_by=request.user)
    messages.success(
        request,
        f"{customer.name} {'suspended: its tokens pull nothing' if suspend else 'resumed'}.",
    )
    return redirect("portal:console-customer", slug=customer.slug)


@staff_page(permission="customers.delete")
@require_POST
def customer_delete_view(request, slug):
    customer = _customer_or_404(request, slug)
    back = reverse("portal:console-customer", args=[customer.slug])
    if customer.suspended_at is None:
        messages.error(
            request, "Suspend the customer first: only a suspended customer can be deleted."
        )
        return redirect(back)
    ask = confirmation_page(
        request,
        title=f"Delete {customer.name}?",
        consequence=f"{customer.name}'s licenses, tokens, users' access, invitations and pull "
        "history are deleted. The audit log keeps a record that they existed. "
        "This cannot be undone.",
        action="Delete customer",
        back_url=back,
    )
    if ask:
        return ask
    try:
        customer_delete(customer=customer, deleted_by=request.user)
    except CustomerDeleteRefused as exc:
        messages.error(request, str(exc))
        return redirect(back)
    messages.success(request, f"{customer.name} deleted.")
    return redirect("portal:console-customers")


@staff_page(permission="users.invite")
@require_POST
def customer_invite(request, slug):
    customer = _customer_or_404(request, slug)
    form = InviteCustomerUserForm(request.POST)
    if form.is_valid():
        try:
            invitation, key = invitation_create(
                vendor=request.vendor,
                customer=customer,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                invited_by=request.user,
            )
        except InvitationError as exc:
            messages.error(request, str(exc))
        else:
            if not mail_configured():
                return invitation_link_page(
                    request,
                    invitation=invitation,
                    key=key,
                    back_url=reverse("portal:console-customer", args=[customer.slug]),
                )
            invitation_send(request, invitation=invitation, key=key)
            messages.success(request, f"Invitation sent to {invitation.email}.")
    else:
        messages.error(request, "Enter a valid email address and role.")
    return redirect("portal:console-customer", slug=customer.slug)


@staff_page(permission="tokens.manage")
@require_POST
def customer_token_revoke(request, slug, token_id):
    """Vendor staff revoke one of the customer's pull tokens (a leaked secret, a machine
    gone): the same service the customer's own Revoke calls, audited with the staff actor."""
    customer = _customer_or_404(request, slug)
    token = selectors.token_get(vendor=request.vendor, token_id=token_id, customer=customer)
    if token is None or token.kind != "pull":
        raise Http404("no such token")
    back_url = reverse("portal:console-customer", args=[customer.slug])
    ask = confirmation_page(
        request,
        title=f"Revoke token “{token.name}” of {customer.name}?",
        consequence=f"Every machine of {customer.name} that pulls with this token is refused "
        "from the next request on. This cannot be undone: the customer would need a new token.",
        action="Revoke token",
        back_url=back_url,
    )
    if ask:
        return ask
    if token_revoke(token=token, revoked_by=request.user):
        messages.success(request, f"Token “{token.name}” of {customer.name} revoked.")
    else:
        messages.info(request, f"Token “{token.name}” was already revoked.")
    return redirect(back_url + "#pull-tokens")


@staff_page(permission="users.invite")
@require_POST
def customer_invitation_revoke(request, slug, invitation_id):
    customer = _customer_or_404(request, slug)
    invitation = selectors.invitation_get(
        vendor=request.vendor, invitation_id=invitation_id, customer=customer
    )
    if invitation is None:
        raise Http404("no such invitation")
    invitation_revoke(invitation=invitation, revoked_by=request.user)
    messages.success(request, f"Invitation for {invitation.email} withdrawn.")
    return redirect("portal:console-customer", slug=customer.slug)


@staff_page(permission="users.invite")
@require_POST
def customer_member_remove_view(request, slug, member_id):
    customer = _customer_or_404(request, slug)
    member = selectors.customer_member_get(
        vendor=request.vendor, customer=customer, member_id=member_id
    )
    if member is None:
        raise Http404("no such member")
    customer_member_remove(member=member, removed_by=request.user)
    messages.success(request, f"{member.user.email} removed.")
    return redirect("portal:console-customer", slug=customer.slug)


@staff_page(permission="licenses.manage")
@require_POST
def license_create_view(request, slug):
    customer = _customer_or_404(request, slug)
    form = LicenseForm(request.POST)
    if not form.is_valid():
        messages.error(request, "License not created: " + _errors(form))
        return redirect("portal:console-customer", slug=customer.slug)
    try:
        license = license_create(
            vendor=request.vendor,
            customer=customer,
            actor=f"user:{request.user.pk}",
            **form.cleaned_data,
        )
    except LicenseError as exc:
        messages.error(request, str(exc))
        return redirect("portal:console-customer", slug=customer.slug)
    messages.success(request, f"License “{license.name}” created. Now add what it grants.")
    return redirect("portal:console-license", license_id=license.pk)


def _errors(form) -> str:
    return "; ".join(f"{field}: {' '.join(errs)}" for field, errs in form.errors.items())


def _license_or_404(request, license_id):
    license = selectors.license_get(vendor=request.vendor, license_id=license_id)
    if license is None:
        raise Http404("no such license")
    return license


def _repository_names(request) -> list[str]:
    return list(selectors.repository_list(vendor=request.vendor).values_list("name", flat=True))


@staff_page(write_permission="licenses.manage")
@require_http_methods(["GET", "POST"])
def license_detail(request, license_id):
    license = _license_or_404(request, license_id)
    form = LicenseForm(
        request.POST or None,
        initial={
            "name": license.name,
            "valid_from": license.valid_from,
            "valid_until": license.valid_until,
            "notes": license.notes,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            license_update(license=license, actor=f"user:{request.user.pk}", **form.cleaned_data)
        except LicenseError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "License saved.")
            return redirect("portal:console-license", license_id=license.pk)
    return _license_page(request, license, form=form, grant_form=_grant_form(request))


def _grant_form(request, data=None) -> GrantForm:
    return GrantForm(data, vendor_slug=request.vendor.slug, repositories=_repository_names(request))


def _license_page(request, license, *, form, grant_form):
    """The license page; a form with errors shows them with what was typed (400)."""
    view = next(
        v
        for v in selectors.license_views(vendor=request.vendor, customer=license.customer)
        if v.license.pk == license.pk
    )
    return render(
        request,
        "console/license.html",
        {
            "license": license,
            "view": view,
            "form": form,
            "grant_form": grant_form,
            "coverage": license_coverage(license=license),
            **license_plan_context(request, license),
        },
        status=400 if form.errors or grant_form.errors else 200,
    )


@staff_page(permission="licenses.manage")
@require_POST
def license_status(request, license_id):
    license = _license_or_404(request, license_id)
    status = request.POST.get("status")
    if status not in ("active", "suspended"):
        raise Http404("unknown status")
    ask = status == "suspended" and confirmation_page(
        request,
        title=f"Suspend license “{license.name}”?",
        consequence=f"{license.customer.name} can no longer pull what this license covers, "
        "from the next request on (other licenses still count). Reactivating restores it.",
        action="Suspend license",
        back_url=reverse("portal:console-license", args=[license.pk]),
    )
    if ask:
        return ask
    license_set_status(license=license, status=status, actor=f"user:{request.user.pk}")
    messages.success(request, f"License {'suspended' if status == 'suspended' else 'reactivated'}.")
    return redirect("portal:console-license", license_id=license.pk)


@staff_page(permission="licenses.manage")
@require_POST
def license_delete_view(request, license_id):
    license = _license_or_404(request, license_id)
    ask = confirmation_page(
        request,
        title=f"Delete license “{license.name}”?",
        consequence=f"{license.customer.name} can no longer pull what this license covers, "
        "from the next request on (other licenses still count), and the license and its "
        "grants are gone. The audit log keeps what it granted. To pause it instead, "
        "suspend it.",
        action="Delete license",
        back_url=reverse("portal:console-license", args=[license.pk]),
    )
    if ask:
        return ask
    customer_slug = license.customer.slug
    license_delete(license=license, actor=f"user:{request.user.pk}")
    messages.success(request, f"License “{license.name}” deleted.")
    return redirect("portal:console-customer", slug=customer_slug)


@staff_page(permission="licenses.manage")
@require_POST
def grant_add_view(request, license_id):
    license = _license_or_404(request, license_id)
    grant_form = _grant_form(request, request.POST)
    if grant_form.is_valid():
        data = grant_form.cleaned_data
        try:
            grant_add(
                license=license,
                repository_name=data["repository"],
                tag_rule=f"{data['rule']}:{data['pattern']}",
                include_referrers=data["include_referrers"],
                actor=f"user:{request.user.pk}",
            )
        except LicenseError as exc:
            grant_form.add_error(None, str(exc))
        else:
            messages.success(request, "Grant added.")
            return redirect("portal:console-license", license_id=license.pk)
    # Re-render with what was typed and why it was refused (a redirect would clear it).
    form = LicenseForm(
        initial={
            "name": license.name,
            "valid_from": license.valid_from,
            "valid_until": license.valid_until,
            "notes": license.notes,
        }
    )
    return _license_page(request, license, form=form, grant_form=grant_form)


@staff_page(permission="licenses.manage")
@require_POST
def grant_remove_view(request, grant_id):
    grant = selectors.grant_get(vendor=request.vendor, grant_id=grant_id)
    if grant is None:
        raise Http404("no such grant")
    license = grant.license
    grant_remove(grant=grant, actor=f"user:{request.user.pk}")
    messages.success(request, "Grant removed.")
    return redirect("portal:console-license", license_id=license.pk)


@staff_page
@require_GET
def grant_preview(request):
    """The tags a prospective grant would cover now (HTML fragment for the grant editor;
    a full page when requested without JavaScript)."""
    name = request.GET.get("repository", "").strip()
    rule = request.GET.get("rule", "glob")
    pattern = request.GET.get("pattern", "").strip()
    error, tags = "", []
    try:
        repository_pattern_validate(vendor_slug=request.vendor.slug, pattern=name)
        if rule not in ("exact", "glob", "semver") or not pattern:
            raise RuleInvalid("Enter a pattern.")
        rule_validate(rule, pattern)
    except RuleInvalid as exc:
        error = str(exc)
    else:
        tags = grant_preview_tags(
            vendor_id=request.vendor.id, repository_name=name, rule=rule, pattern=pattern
        )
    repository = {"name": name}
    template = (
        "console/_grant_preview.html"
        if request.headers.get("X-Requested-With") == "fetch"
        else "console/grant_preview_page.html"
    )
    return render(
        request,
        template,
        {"error": error, "tags": tags, "rule": rule, "pattern": pattern, "repository": repository},
        status=200,
    )
