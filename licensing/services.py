"""License writes. Every change replaces the customer's generation inside its transaction
(core/changes.py), so every process's cached entitlements change with the commit; grant
changes and every license change write their audit row in the same transaction, with the
actor the caller names (`user:<id>` from the console, `command:<name>` from a command)."""

import datetime

from django.db import transaction
from django.db.models import F

from core.changes import customer_changed
from customers.models import AuditEvent, Customer, Vendor
from customers.services import audit_record
from licensing.models import License, LicenseGrant
from licensing.rules import RuleInvalid, repository_pattern_validate, rule_parse


class LicenseError(ValueError):
    """Bad input for a license operation (message is safe to show)."""


def _customer_changed(customer_id: int) -> None:
    customer_changed(customer_id=customer_id)


def license_create(
    *,
    vendor: Vendor,
    customer: Customer,
    name: str,
    valid_from: datetime.date | None = None,
    valid_until: datetime.date | None = None,
    notes: str = "",
    actor: str = "",
) -> License:
    if customer.vendor_id != vendor.id:
        raise LicenseError("that customer belongs to another vendor")
    if not name.strip():
        raise LicenseError("a license needs a name")
    valid_from = valid_from or datetime.date.today()
    if valid_until is not None and valid_until < valid_from:
        raise LicenseError("a license cannot end before it starts")
    with transaction.atomic():
        license = License.objects.create(
            vendor=vendor,
            customer=customer,
            name=name.strip(),
            valid_from=valid_from,
            valid_until=valid_until,
            notes=notes,
        )
        _license_audit(license, AuditEvent.Action.LICENSE_CREATED, actor)
        _customer_changed(customer.id)
    return license


def license_update(
    *,
    license: License,
    name: str,
    valid_from: datetime.date,
    valid_until: datetime.date | None,
    notes: str = "",
    actor: str = "",
) -> License:
    if not name.strip():
        raise LicenseError("a license needs a name")
    if valid_until is not None and valid_until < valid_from:
        raise LicenseError("a license cannot end before it starts")
    with transaction.atomic():
        # The dates are in the license key: a new sequence supersedes the old key.
        License.objects.filter(pk=license.pk).update(
            name=name.strip(),
            valid_from=valid_from,
            valid_until=valid_until,
            notes=notes,
            sequence=F("sequence") + 1,
        )
        license.sequence = License.objects.values_list("sequence", flat=True).get(pk=license.pk)
        license.name, license.valid_from, license.valid_until, license.notes = (
            name.strip(),
            valid_from,
            valid_until,
            notes,
        )
        _license_audit(license, AuditEvent.Action.LICENSE_UPDATED, actor)
        _customer_changed(license.customer_id)
    return license


def grant_add(
    *,
    license: License,
    repository_name: str,
    tag_rule: str,
    include_referrers: bool = True,
    actor: str = "",
) -> LicenseGrant:
    """Grant `tag_rule` on a repository name (pushed or not yet) or a pattern of names in
    the license vendor's namespace (licensing/rules.py)."""
    try:
        kind, pattern = rule_parse(tag_rule)
        repository_name = repository_pattern_validate(
            vendor_slug=license.vendor.slug, pattern=repository_name
        )
    except RuleInvalid as exc:
        raise LicenseError(str(exc)) from None
    with transaction.atomic():
        grant = LicenseGrant.objects.create(
            license=license,
            repository_name=repository_name,
            rule=kind,
            pattern=pattern,
            include_referrers=include_referrers,
        )
        _grant_audit(grant, AuditEvent.Action.GRANT_ADDED, actor)
        _customer_changed(license.customer_id)
    return grant


def grant_remove(*, grant: LicenseGrant, actor: str = "") -> None:
    with transaction.atomic():
        customer_id = grant.license.customer_id
        _grant_audit(grant, AuditEvent.Action.GRANT_REMOVED, actor)
        grant.delete()
        _customer_changed(customer_id)


def _grant_audit(grant: LicenseGrant, action: str, actor: str) -> None:
    license = grant.license
    audit_record(
        vendor=license.vendor,
        action=action,
        actor=actor,
        target=f"license:{license.pk}",
        details={
            "customer": license.customer.slug,
            "name": license.name,
            "repository": grant.repository_name,
            "rule": f"{grant.rule}:{grant.pattern}",
        },
    )


def license_set_status(*, license: License, status: str, actor: str = "") -> License:
    with transaction.atomic():
        License.objects.filter(pk=license.pk).update(status=status)
        license.status = status
        _license_audit(license, AuditEvent.Action.LICENSE_UPDATED, actor, status=status)
        _customer_changed(license.customer_id)
    return license


def _license_audit(license: License, action: str, actor: str, **details) -> None:
    audit_record(
        vendor=license.vendor,
        action=action,
        actor=actor,
        target=f"license:{license.pk}",
        details={"customer": license.customer.slug, "name": license.name, **details},
    )


def license_delete(*, license: License, actor: str = "") -> None:
    """Delete a license and its grants. What the customer could pull through it stops
    from the next request (its generation commits with the delete); the audit row keeps
    what it was."""
    with transaction.atomic():
        grants = [f"{g.repository_name} {g.rule}:{g.pattern}" for g in license.grants.all()]
        _license_audit(
            license,
            AuditEvent.Action.LICENSE_DELETED,
            actor,
            valid_from=license.valid_from.isoformat(),
            valid_until=license.valid_until.isoformat() if license.valid_until else None,
            grants=grants,
        )
        customer_id = license.customer_id
        license.delete()
        _customer_changed(customer_id)


def license_suspend(*, license: License) -> License:
    return license_set_status(license=license, status=License.Status.SUSPENDED)
