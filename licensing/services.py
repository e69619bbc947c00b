"""License writes. Every change replaces the customer's generation inside its transaction
(registry/changes.py), so every process's cached entitlements change with the commit."""

import datetime

from django.db import transaction

from customers.models import Customer, Vendor
from licensing.models import License, LicenseGrant
from licensing.rules import RuleInvalid, rule_parse
from registry.changes import customer_changed
from registry.models import Repository


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
        _customer_changed(customer.id)
    return license


def license_update(
    *,
    license: License,
    name: str,
    valid_from: datetime.date,
    valid_until: datetime.date | None,
    notes: str = "",
) -> License:
    if not name.strip():
        raise LicenseError("a license needs a name")
    if valid_until is not None and valid_until < valid_from:
        raise LicenseError("a license cannot end before it starts")
    with transaction.atomic():
        License.objects.filter(pk=license.pk).update(
            name=name.strip(), valid_from=valid_from, valid_until=valid_until, notes=notes
        )
        license.name, license.valid_from, license.valid_until, license.notes = (
            name.strip(),
            valid_from,
            valid_until,
            notes,
        )
        _customer_changed(license.customer_id)
    return license


def grant_add(
    *, license: License, repository_name: str, tag_rule: str, include_referrers: bool = True
) -> LicenseGrant:
    try:
        kind, pattern = rule_parse(tag_rule)
    except RuleInvalid as exc:
        raise LicenseError(str(exc)) from None
    repository = Repository.objects.filter(
        vendor_id=license.vendor_id, name=repository_name
    ).first()
    if repository is None:
        raise LicenseError(f"the vendor has no repository {repository_name!r}")
    with transaction.atomic():
        grant = LicenseGrant.objects.create(
            license=license,
            repository=repository,
            rule=kind,
            pattern=pattern,
            include_referrers=include_referrers,
        )
        _customer_changed(license.customer_id)
    return grant


def grant_remove(*, grant: LicenseGrant) -> None:
    with transaction.atomic():
        customer_id = grant.license.customer_id
        grant.delete()
        _customer_changed(customer_id)


def license_set_status(*, license: License, status: str) -> License:
    with transaction.atomic():
        License.objects.filter(pk=license.pk).update(status=status)
        license.status = status
        _customer_changed(license.customer_id)
    return license


def license_suspend(*, license: License) -> License:
    return license_set_status(license=license, status=License.Status.SUSPENDED)
