"""Vendor console: what license keys say (docs/license-keys.md). Entitlement fields and
plans (every staff member reads them; maintainers and admins change them, a plan change
only after a confirmation that lists the licenses it changes), a license's plan and its
own values, and the instances that check in (per customer, per version, over their seats,
keys issued). Every write goes through licensing/plans.py, which audits it."""

import datetime

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from licensing import selectors
from licensing.checkins import seats_state
from licensing.models import EntitlementField
from licensing.plans import (
    field_create,
    field_delete,
    field_update,
    license_plan_set,
    license_values,
    plan_create,
    plan_delete,
    plan_licenses,
    plan_update,
)
from licensing.services import LicenseError
from portal import selectors as portal_selectors
from portal.views.access import staff_page
from portal.views.confirm import confirmation_page

WRITE = "licenses.manage"  # plans and fields change licenses' keys and grants
DAY = 86400


def _actor(request) -> str:
    return f"user:{request.user.pk}"


class FieldForm(forms.Form):
    key = forms.SlugField(
        max_length=64, help_text="the claim name in the key: lower case, digits and _"
    )
    label = forms.CharField(max_length=200, required=False)
    kind = forms.ChoiceField(choices=EntitlementField.Kind.choices)
    choices = forms.CharField(
        max_length=2000, required=False, help_text="one-of only: the choices, comma-separated"
    )
    default = forms.CharField(max_length=1000, required=False)
    customer_visible = forms.BooleanField(required=False, label="Customers see it")


class FieldEditForm(forms.Form):
    label = forms.CharField(max_length=200, required=False)
    choices = forms.CharField(max_length=2000, required=False)
    default = forms.CharField(max_length=1000, required=False)
    customer_visible = forms.BooleanField(required=False, label="Customers see it")


def _choices(text: str) -> list[str]:
    return [c.strip() for c in text.split(",") if c.strip()]


class PlanForm(forms.Form):
    """A plan's name, seats, lease and grants; its field values come as `value_<key>`."""

    name = forms.CharField(max_length=100)
    seats = forms.IntegerField(min_value=0, required=False, help_text="empty: no limit")
    lease_days = forms.IntegerField(min_value=1, max_value=366, initial=7, label="Lease (days)")
    grants = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text="one per line: repository (inside your namespace) and rule, e.g. app "
        "semver:>=1.0 or charts/* glob:*; add no-referrers to leave signatures and SBOMs out",
    )

    def __init__(self, *args, fields: list[EntitlementField], vendor_slug: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.entitlement_fields = fields
        self.namespace = f"{vendor_slug}/"
        for f in fields:
            self.fields[f"value_{f.key}"] = forms.CharField(
                label=f.label, required=False, help_text=_field_help(f)
            )

    def values(self) -> dict:
        return {
            f.key: self.cleaned_data[f"value_{f.key}"]
            for f in self.entitlement_fields
            if self.cleaned_data.get(f"value_{f.key}", "") != ""
        }

    def grant_list(self) -> list[dict]:
        grants = []
        for line in self.cleaned_data["grants"].splitlines():
            parts = line.split()
            if not parts:
                continue
            if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] != "no-referrers"):
                raise LicenseError(f"grant {line.strip()!r}: repository rule [no-referrers]")
            name = parts[0] if parts[0].startswith(self.namespace) else self.namespace + parts[0]
            referrers = len(parts) == 2
            grants.append(
                {"repository_name": name, "rule": parts[1], "include_referrers": referrers}
            )
        return grants


def _field_help(field: EntitlementField) -> str:
    kind = {
        "integer": "a whole number",
        "boolean": "true or false",
        "string": "text",
        "date": "YYYY-MM-DD",
        "one_of": "one of " + ", ".join(field.choices),
    }.get(field.kind, field.kind)
    default = "" if field.default is None else f"; default {field.default}"
    return f"{kind}{default}; empty: the default"


def _grants_text(grants: list[dict], namespace: str) -> str:
    return "\n".join(
        f"{g['repository_name'].removeprefix(namespace)} {g['rule']}"
        + ("" if g["include_referrers"] else " no-referrers")
        for g in grants
    )


def _plan_initial(plan) -> dict:
    initial = {
        "name": plan.name,
        "seats": plan.seats,
        "lease_days": max(1, plan.lease_seconds // DAY),
        "grants": _grants_text(plan.grants, f"{plan.vendor.slug}/"),
    }
    initial.update({f"value_{key}": value for key, value in plan.values.items()})
    return initial


def _field_or_404(request, key):
    field = selectors.field_get(vendor_id=request.vendor.pk, key=key)
    if field is None:
        raise Http404("no such field")
    return field


def _plan_or_404(request, plan_id):
    plan = selectors.plan_get(vendor_id=request.vendor.pk, plan_id=plan_id)
    if plan is None:
        raise Http404("no such plan")
    return plan


def _plans_page(request, *, field_form=None, plan_form=None, error=""):
    fields = selectors.fields_list(vendor_id=request.vendor.pk)
    return render(
        request,
        "console/plans.html",
        {
            "fields": fields,
            "plans": selectors.plans_list(vendor_id=request.vendor.pk),
            "field_form": field_form or FieldForm(auto_id="field_%s"),
            "plan_form": plan_form
            or PlanForm(fields=fields, vendor_slug=request.vendor.slug, auto_id="plan_%s"),
            "error": error,
        },
        status=400 if error else 200,
    )


@staff_page
def plans(request):
    return _plans_page(request)


@staff_page(permission=WRITE)
@require_POST
def field_add(request):
    form = FieldForm(request.POST, auto_id="field_%s")
    if not form.is_valid():
        return _plans_page(request, field_form=form, error="Check the field's details.")
    data = form.cleaned_data
    try:
        field = field_create(
            vendor=request.vendor,
            key=data["key"],
            kind=data["kind"],
            label=data["label"],
            choices=_choices(data["choices"]),
            default=data["default"],
            customer_visible=data["customer_visible"],
            actor=_actor(request),
        )
    except LicenseError as exc:
        return _plans_page(request, field_form=form, error=str(exc))
    messages.success(request, f"Field {field.key} added. Every license key gets it.")
    return redirect("portal:console-plans")


@staff_page(write_permission=WRITE)
@require_http_methods(["GET", "POST"])
def field_detail(request, key):
    field = _field_or_404(request, key)
    initial = {
        "label": field.label,
        "choices": ", ".join(field.choices),
        "default": "" if field.default is None else field.default,
        "customer_visible": field.customer_visible,
    }
    form = FieldEditForm(request.POST or None, initial=initial)
    error = ""
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            field_update(
                field=field,
                label=data["label"],
                choices=_choices(data["choices"]),
                default=data["default"],
                customer_visible=data["customer_visible"],
                actor=_actor(request),
            )
        except LicenseError as exc:
            error = str(exc)
        else:
            messages.success(request, f"Field {field.key} saved.")
            return redirect("portal:console-plans")
    return render(
        request,
        "console/entitlement_field.html",
        {"field": field, "form": form, "error": error},
        status=400 if error or form.errors else 200,
    )


@staff_page(permission=WRITE)
@require_POST
def field_remove(request, key):
    field = _field_or_404(request, key)
    ask = confirmation_page(
        request,
        title=f"Delete field {field.key}?",
        consequence=f"Every plan and license loses its {field.key} value, and every license "
        "key is issued again without it.",
        action="Delete field",
        back_url=reverse("portal:console-plans"),
    )
    if ask:
        return ask
    field_delete(field=field, actor=_actor(request))
    messages.success(request, f"Field {key} deleted.")
    return redirect("portal:console-plans")


def _plan_arguments(form: PlanForm) -> dict:
    data = form.cleaned_data
    return {
        "name": data["name"],
        "values": form.values(),
        "seats": data["seats"],
        "grants": form.grant_list(),
        "lease_seconds": data["lease_days"] * DAY,
    }


@staff_page(permission=WRITE)
@require_POST
def plan_add(request):
    fields = selectors.fields_list(vendor_id=request.vendor.pk)
    form = PlanForm(request.POST, fields=fields, vendor_slug=request.vendor.slug, auto_id="plan_%s")
    if not form.is_valid():
        return _plans_page(request, plan_form=form, error="Check the plan's details.")
    try:
        plan = plan_create(vendor=request.vendor, actor=_actor(request), **_plan_arguments(form))
    except LicenseError as exc:
        return _plans_page(request, plan_form=form, error=str(exc))
    messages.success(request, f"Plan {plan.name} added.")
    return redirect("portal:console-plan", plan_id=plan.pk)


@staff_page(write_permission=WRITE)
@require_http_methods(["GET", "POST"])
def plan_detail(request, plan_id):
    plan = _plan_or_404(request, plan_id)
    fields = selectors.fields_list(vendor_id=request.vendor.pk)
    form = PlanForm(
        request.POST or None,
        fields=fields,
        vendor_slug=request.vendor.slug,
        initial=_plan_initial(plan),
    )
    licenses = plan_licenses(plan)
    error = ""
    if request.method == "POST" and form.is_valid():
        try:
            arguments = _plan_arguments(form)
        except LicenseError as exc:
            error = str(exc)
        else:
            if licenses:
                names = "; ".join(f"{lic.customer.name}: {lic.name}" for lic in licenses)
                ask = confirmation_page(
                    request,
                    title=f"Apply the change to {len(licenses)} license(s)?",
                    consequence=f"Changing plan {plan.name} changes these licenses' grants "
                    f"at once and issues their keys again (the old keys are answered "
                    f"superseded at check-in): {names}.",
                    action="Change plan and licenses",
                    back_url=reverse("portal:console-plan", args=[plan.pk]),
                )
                if ask:
                    return ask
            try:
                changed = plan_update(plan=plan, actor=_actor(request), **arguments)
            except LicenseError as exc:
                error = str(exc)
            else:
                done = f"Plan {plan.name} saved; {len(changed)} license(s) changed."
                messages.success(request, done)
                return redirect("portal:console-plan", plan_id=plan.pk)
    return render(
        request,
        "console/plan.html",
        {"plan": plan, "form": form, "licenses": licenses, "error": error},
        status=400 if error or form.errors else 200,
    )


@staff_page(permission=WRITE)
@require_POST
def plan_remove(request, plan_id):
    plan = _plan_or_404(request, plan_id)
    back = reverse("portal:console-plan", args=[plan.pk])
    ask = confirmation_page(
        request,
        title=f"Delete plan {plan.name}?",
        consequence="The plan goes; licenses must be moved to another plan first.",
        action="Delete plan",
        back_url=back,
    )
    if ask:
        return ask
    try:
        plan_delete(plan=plan, actor=_actor(request))
    except LicenseError as exc:
        messages.error(request, str(exc))
        return redirect(back)
    messages.success(request, f"Plan {plan.name} deleted.")
    return redirect("portal:console-plans")


# --- a license's plan and values (on the console's license page) ------------------------


class LicensePlanForm(forms.Form):
    plan = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    seats = forms.IntegerField(min_value=0, required=False, help_text="empty: the plan's")

    def __init__(self, *args, plans, fields, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["plan"].choices = [("", "No plan")] + [(p.pk, p.name) for p in plans]
        self.entitlement_fields = fields
        for f in fields:
            self.fields[f"value_{f.key}"] = forms.CharField(
                label=f.label, required=False, help_text="empty: the plan's or the default"
            )

    def values(self) -> dict:
        return {
            f.key: self.cleaned_data[f"value_{f.key}"]
            for f in self.entitlement_fields
            if self.cleaned_data.get(f"value_{f.key}", "") != ""
        }


def license_plan_context(request, license, form=None) -> dict:
    """What the license page shows of its key: plan form, effective values, seats, key
    sequence and instances (console_customers renders it)."""
    fields = selectors.fields_list(vendor_id=request.vendor.pk)
    if form is None:
        initial = {"plan": license.plan_id, "seats": license.seats}
        initial.update({f"value_{k}": v for k, v in license.values.items()})
        form = LicensePlanForm(
            initial=initial,
            plans=selectors.plans_list(vendor_id=request.vendor.pk),
            fields=fields,
            auto_id="plan_%s",
        )
    effective = license_values(license, fields)
    return {
        "plan_form": form,
        "effective_values": [(f, effective.get(f.key)) for f in fields],
        "seats": seats_state(license),
        "instances": selectors.instances_of_license(license=license),
    }


@staff_page(permission=WRITE)
@require_POST
def license_plan(request, license_id):
    license = portal_selectors.license_get(vendor=request.vendor, license_id=license_id)
    if license is None:
        raise Http404("no such license")
    form = LicensePlanForm(
        request.POST,
        plans=selectors.plans_list(vendor_id=request.vendor.pk),
        fields=selectors.fields_list(vendor_id=request.vendor.pk),
        auto_id="plan_%s",
    )
    if form.is_valid():
        plan_id = form.cleaned_data["plan"]
        plan = selectors.plan_get(vendor_id=request.vendor.pk, plan_id=plan_id) if plan_id else None
        try:
            license_plan_set(
                license=license,
                plan=plan,
                values=form.values(),
                seats=form.cleaned_data["seats"],
                actor=_actor(request),
            )
        except LicenseError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, "Plan and values saved; the license key is issued again.")
    else:
        messages.error(request, "Check the plan, seats and values.")
    return redirect("portal:console-license", license_id=license.pk)


# --- instances ------------------------------------------------------------------------


@staff_page
def instances(request):
    vendor_id = request.vendor.pk
    window = datetime.timedelta(days=30)
    versions = selectors.running_versions(vendor_id=vendor_id, since=timezone.now() - window)
    return render(
        request,
        "console/instances.html",
        {
            "versions": sorted(versions.items(), key=lambda kv: (-kv[1], kv[0])),
            "over_seats": [
                (lic, seats_state(lic))
                for lic in selectors.licenses_over_seats(vendor_id=vendor_id)
            ],
            "instances": selectors.instances_of_vendor(vendor_id=vendor_id, limit=200),
            "keys": selectors.license_keys_recent(vendor_id=vendor_id),
            "seat_window_days": settings.LICENSE_SEAT_WINDOW_DAYS,
        },
    )
