"""Entitlement fields and plans: what a license key says beyond its dates.

A license's values are its fields' defaults, overlaid by its plan's values, overlaid by
its own `values`; its seats are its own or its plan's. Every write that changes what a
license key says bumps that license's `sequence` in the same transaction, so a key with a
lower sequence is answered `superseded` at check-in (licensing/checkins.py). A plan's
grants are copied to its licenses (`from_plan`) and replaced when the plan changes; grants
added to one license by hand stay. Grant changes replace the customer's generation, so the
registry honours them from the next request."""

import datetime
import re

from django.db import transaction
from django.db.models import F

from core.changes import customer_changed
from customers.models import AuditEvent, Vendor
from customers.services import audit_record
from licensing.models import EntitlementField, License, LicenseGrant, Plan
from licensing.rules import RuleInvalid, repository_pattern_validate, rule_parse
from licensing.services import LicenseError

FIELD_KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
# Claims the key already uses at its top level; a field lives under `fields`, but a key
# named like these would read as one in the console.
RESERVED_KEYS = {"seats", "plan", "customer"}
MAX_STRING = 1000
MAX_LEASE_SECONDS = 366 * 86400


def value_coerce(field: EntitlementField, value):
    """`value` as `field` stores it (JSON), or LicenseError saying why not. A value from a
    form arrives as text; from the API as JSON."""
    kind = field.kind
    if value is None:
        return None
    if kind == EntitlementField.Kind.INTEGER:
        if isinstance(value, bool):
            raise LicenseError(f"{field.key}: an integer, not true/false")
        try:
            number = int(str(value).strip()) if isinstance(value, str) else value
        except ValueError:
            raise LicenseError(f"{field.key}: an integer") from None
        if not isinstance(number, int):
            raise LicenseError(f"{field.key}: an integer")
        return number
    if kind == EntitlementField.Kind.BOOLEAN:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in {"true", "yes", "on", "1"}:
            return True
        if text in {"false", "no", "off", "0"}:
            return False
        raise LicenseError(f"{field.key}: true or false")
    if kind == EntitlementField.Kind.DATE:
        try:
            return datetime.date.fromisoformat(str(value).strip()).isoformat()
        except ValueError:
            raise LicenseError(f"{field.key}: a date as YYYY-MM-DD") from None
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise LicenseError(f"{field.key}: text")
    text = str(value)
    if len(text) > MAX_STRING:
        raise LicenseError(f"{field.key}: at most {MAX_STRING} characters")
    if kind == EntitlementField.Kind.ONE_OF and text not in field.choices:
        raise LicenseError(f"{field.key}: one of {', '.join(field.choices)}")
    return text


def values_validate(*, vendor: Vendor, values: dict) -> dict:
    """`values` (field key -> value) checked against the vendor's fields; a None value
    removes the key (falls back to what is below it)."""
    if not isinstance(values, dict):
        raise LicenseError("values must be an object of field keys")
    fields = {f.key: f for f in EntitlementField.objects.filter(vendor=vendor)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise LicenseError(f"no such field: {', '.join(unknown)}")
    coerced = {key: value_coerce(fields[key], value) for key, value in values.items()}
    return {key: value for key, value in coerced.items() if value is not None}


def license_values(license: License, fields: list[EntitlementField] | None = None) -> dict:
    """The license's effective field values (defaults < plan < license)."""
    if fields is None:
        fields = list(EntitlementField.objects.filter(vendor_id=license.vendor_id))
    plan_values = license.plan.values if license.plan_id else {}
    out = {}
    for f in fields:
        value = license.values.get(f.key, plan_values.get(f.key, f.default))
        out[f.key] = value
    return out


def license_seats(license: License) -> int | None:
    if license.seats is not None:
        return license.seats
    return license.plan.seats if license.plan_id else None


def _vendor_keys_changed(vendor: Vendor) -> None:
    # A field's default or existence is part of every key of the vendor.
    License.objects.filter(vendor=vendor).update(sequence=F("sequence") + 1)


def _field_audit(field: EntitlementField, action: str, actor: str) -> None:
    audit_record(
        vendor=field.vendor,
        action=action,
        actor=actor,
        target=f"entitlement_field:{field.key}",
        details={
            "key": field.key,
            "kind": field.kind,
            "default": field.default,
            "choices": field.choices,
            "customer_visible": field.customer_visible,
        },
    )


def _field_check(kind: str, choices: list) -> list:
    if kind not in EntitlementField.Kind.values:
        raise LicenseError(f"kind: one of {', '.join(EntitlementField.Kind.values)}")
    if kind != EntitlementField.Kind.ONE_OF:
        return []
    choices = [str(c).strip() for c in choices or [] if str(c).strip()]
    if not choices:
        raise LicenseError("a one-of field needs its choices")
    return list(dict.fromkeys(choices))


def field_create(
    *,
    vendor: Vendor,
    key: str,
    kind: str,
    label: str = "",
    choices: list | None = None,
    default=None,
    customer_visible: bool = False,
    actor: str = "",
) -> EntitlementField:
    key = key.strip()
    if not FIELD_KEY.match(key) or key in RESERVED_KEYS:
        raise LicenseError("key: lower-case letters, digits and _, starting with a letter")
    field = EntitlementField(
        vendor=vendor,
        key=key,
        kind=kind,
        label=label.strip() or key,
        customer_visible=customer_visible,
    )
    field.choices = _field_check(kind, choices or [])
    field.default = value_coerce(field, default) if default not in (None, "") else None
    with transaction.atomic():
        if EntitlementField.objects.filter(vendor=vendor, key=key).exists():
            raise LicenseError(f"a field {key} exists already")
        field.save()
        _field_audit(field, AuditEvent.Action.FIELD_CREATED, actor)
        _vendor_keys_changed(vendor)
    return field


def field_update(
    *,
    field: EntitlementField,
    label: str,
    choices: list | None = None,
    default=None,
    customer_visible: bool = False,
    actor: str = "",
) -> EntitlementField:
    """Kind and key stay (values already written depend on them)."""
    field.label = label.strip() or field.key
    field.customer_visible = customer_visible
    field.choices = _field_check(field.kind, choices or field.choices)
    field.default = value_coerce(field, default) if default not in (None, "") else None
    with transaction.atomic():
        field.save()
        _field_audit(field, AuditEvent.Action.FIELD_UPDATED, actor)
        _vendor_keys_changed(field.vendor)
    return field


def field_delete(*, field: EntitlementField, actor: str = "") -> None:
    """Remove the field from the vendor's keys (its values in plans and licenses go)."""
    with transaction.atomic():
        _field_audit(field, AuditEvent.Action.FIELD_DELETED, actor)
        for plan in Plan.objects.filter(vendor=field.vendor, values__has_key=field.key):
            plan.values.pop(field.key, None)
            plan.save(update_fields=["values"])
        for license in License.objects.filter(vendor=field.vendor, values__has_key=field.key):
            license.values.pop(field.key, None)
            license.save(update_fields=["values"])
        field.delete()
        _vendor_keys_changed(field.vendor)


def grants_validate(*, vendor: Vendor, grants: list) -> list[dict]:
    if not isinstance(grants, list):
        raise LicenseError("grants must be a list")
    out = []
    for grant in grants:
        if not isinstance(grant, dict):
            raise LicenseError("each grant names repository_name and rule")
        try:
            kind, pattern = rule_parse(str(grant.get("rule", "")))
            name = repository_pattern_validate(
                vendor_slug=vendor.slug, pattern=str(grant.get("repository_name", ""))
            )
        except RuleInvalid as exc:
            raise LicenseError(str(exc)) from None
        out.append(
            {
                "repository_name": name,
                "rule": f"{kind}:{pattern}",
                "include_referrers": bool(grant.get("include_referrers", True)),
            }
        )
    return out


def _plan_check(vendor, name, values, seats, grants, lease_seconds):
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise LicenseError("a plan needs a name (at most 100 characters)")
    if seats is not None and (not isinstance(seats, int) or seats < 0):
        raise LicenseError("seats: a whole number, or none for no limit")
    if not isinstance(lease_seconds, int) or not 60 <= lease_seconds <= MAX_LEASE_SECONDS:
        raise LicenseError("lease_seconds: between 60 and a year")
    values = values_validate(vendor=vendor, values=values or {})
    return name, values, grants_validate(vendor=vendor, grants=grants or [])


def _plan_audit(plan: Plan, action: str, actor: str, **details) -> None:
    audit_record(
        vendor=plan.vendor,
        action=action,
        actor=actor,
        target=f"plan:{plan.pk}",
        details={
            "name": plan.name,
            "values": plan.values,
            "seats": plan.seats,
            "grants": [f"{g['repository_name']} {g['rule']}" for g in plan.grants],
            "lease_seconds": plan.lease_seconds,
            **details,
        },
    )


def plan_create(
    *,
    vendor: Vendor,
    name: str,
    values: dict | None = None,
    seats: int | None = None,
    grants: list | None = None,
    lease_seconds: int = 7 * 86400,
    actor: str = "",
) -> Plan:
    name, values, grants = _plan_check(vendor, name, values, seats, grants, lease_seconds)
    with transaction.atomic():
        if Plan.objects.filter(vendor=vendor, name=name).exists():
            raise LicenseError(f"a plan {name} exists already")
        plan = Plan.objects.create(
            vendor=vendor,
            name=name,
            values=values,
            seats=seats,
            grants=grants,
            lease_seconds=lease_seconds,
        )
        _plan_audit(plan, AuditEvent.Action.PLAN_CREATED, actor)
    return plan


def plan_licenses(plan: Plan) -> list[License]:
    """The licenses a change to `plan` changes (the console asks to confirm them)."""
    return list(
        License.objects.filter(vendor=plan.vendor, plan=plan)
        .select_related("customer")
        .order_by("customer__name", "name")
    )


def plan_update(
    *,
    plan: Plan,
    name: str,
    values: dict | None = None,
    seats: int | None = None,
    grants: list | None = None,
    lease_seconds: int = 7 * 86400,
    actor: str = "",
) -> list[License]:
    """Change the plan and apply it to its licenses (sequence bumped, grants replaced);
    returns the licenses it changed."""
    name, values, grants = _plan_check(plan.vendor, name, values, seats, grants, lease_seconds)
    with transaction.atomic():
        if Plan.objects.filter(vendor=plan.vendor, name=name).exclude(pk=plan.pk).exists():
            raise LicenseError(f"a plan {name} exists already")
        plan.name, plan.values, plan.seats, plan.grants, plan.lease_seconds = (
            name,
            values,
            seats,
            grants,
            lease_seconds,
        )
        plan.save()
        licenses = plan_licenses(plan)
        _plan_audit(
            plan, AuditEvent.Action.PLAN_UPDATED, actor, licenses=[lic.pk for lic in licenses]
        )
        for license in licenses:
            _plan_grants_apply(license, plan)
        License.objects.filter(pk__in=[lic.pk for lic in licenses]).update(
            sequence=F("sequence") + 1
        )
    return licenses


def plan_delete(*, plan: Plan, actor: str = "") -> None:
    with transaction.atomic():
        if License.objects.filter(plan=plan).exists():
            raise LicenseError("licenses use this plan: move them to another plan first")
        _plan_audit(plan, AuditEvent.Action.PLAN_DELETED, actor)
        plan.delete()


def _plan_grants_apply(license: License, plan: Plan | None) -> None:
    LicenseGrant.objects.filter(license=license, from_plan=True).delete()
    for grant in plan.grants if plan else []:
        kind, pattern = grant["rule"].split(":", 1)
        LicenseGrant.objects.create(
            license=license,
            repository_name=grant["repository_name"],
            rule=kind,
            pattern=pattern,
            include_referrers=grant["include_referrers"],
            from_plan=True,
        )
    customer_changed(customer_id=license.customer_id)


def license_plan_set(
    *,
    license: License,
    plan: Plan | None,
    values: dict | None = None,
    seats: int | None = None,
    actor: str = "",
) -> License:
    """Put `license` on `plan` (None: none) with its own overrides; the plan's grants
    replace the ones a previous plan gave."""
    if plan is not None and plan.vendor_id != license.vendor_id:
        raise LicenseError("that plan belongs to another vendor")
    if seats is not None and (not isinstance(seats, int) or seats < 0):
        raise LicenseError("seats: a whole number, or none for the plan's")
    values = values_validate(vendor=license.vendor, values=values or {})
    with transaction.atomic():
        license.plan, license.values, license.seats = plan, values, seats
        license.sequence = F("sequence") + 1
        license.save(update_fields=["plan", "values", "seats", "sequence"])
        license.refresh_from_db()
        _plan_grants_apply(license, plan)
        audit_record(
            vendor=license.vendor,
            action=AuditEvent.Action.PLAN_APPLIED,
            actor=actor,
            target=f"license:{license.pk}",
            details={
                "customer": license.customer.slug,
                "name": license.name,
                "plan": plan.name if plan else None,
                "values": values,
                "seats": seats,
                "sequence": license.sequence,
            },
        )
    return license
