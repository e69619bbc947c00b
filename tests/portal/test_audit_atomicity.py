"""Every change and its audit row commit together, whichever interface makes it: a failure
forced right after the audit row is written (so after the change itself) leaves neither the
change nor the row. Console and command paths; the REST API has no writes yet (issue 14)."""

import io

import pytest
from django.core.management import call_command
from django.db.models.signals import post_save

from customers.models import AccessToken, AuditEvent, Customer
from customers.services import token_mint
from licensing.models import License, LicenseGrant
from licensing.services import license_create
from tests.portal.conftest import sign_in

pytestmark = pytest.mark.django_db


class Forced(RuntimeError):
    pass


def _boom(sender, instance, created, **kwargs):
    if created:
        raise Forced(instance.action)


@pytest.fixture
def fail_after_audit():
    """`arm()`: from then on, raise as soon as an audit row has been inserted, inside the
    service's transaction (set-up before it writes its own rows normally)."""

    def arm():
        post_save.connect(_boom, sender=AuditEvent, dispatch_uid="force-after-audit")

    yield arm
    post_save.disconnect(sender=AuditEvent, dispatch_uid="force-after-audit")


def state(vendor):
    return {
        "audit": AuditEvent.objects.filter(vendor=vendor).count(),
        "licenses": list(License.objects.filter(vendor=vendor).values_list("name", "status")),
        "grants": LicenseGrant.objects.filter(license__vendor=vendor).count(),
        "suspended": list(
            Customer.objects.filter(vendor=vendor, suspended_at__isnull=False).values_list(
                "slug", flat=True
            )
        ),
        "tokens": list(AccessToken.objects.filter(vendor=vendor).values_list("name", "revoked_at")),
    }


def console(user, vendor):
    return sign_in(user, vendor)  # the test client re-raises what the view raised


CONSOLE_CHANGES = {
    "create a license": lambda c, lic, tok: c.post(
        "/p/acme/console/customers/globex/licenses/new",
        {"name": "Gold", "valid_from": "2026-01-01"},
    ),
    "add a grant": lambda c, lic, tok: c.post(
        f"/p/acme/console/licenses/{lic.pk}/grants/add",
        {"repository": "acme/app", "rule": "glob", "pattern": "*", "include_referrers": "on"},
    ),
    "suspend a license": lambda c, lic, tok: c.post(
        f"/p/acme/console/licenses/{lic.pk}/status", {"status": "suspended", "confirmed": "1"}
    ),
    "suspend the customer": lambda c, lic, tok: c.post(
        "/p/acme/console/customers/globex/suspend", {"suspend": "1", "confirmed": "1"}
    ),
    "revoke the customer's token": lambda c, lic, tok: c.post(
        f"/p/acme/console/customers/globex/tokens/{tok.pk}/revoke", {"confirmed": "1"}
    ),
}


@pytest.mark.parametrize("change", CONSOLE_CHANGES)
def test_a_console_change_and_its_audit_row_commit_together(
    change, acme, acme_admin, customer, fail_after_audit
):
    lic = _license(acme, customer)
    tok = token_mint(vendor=acme, customer=customer, kind="pull", name="laptop").token
    before = state(acme)
    fail_after_audit()
    with pytest.raises(Forced):
        CONSOLE_CHANGES[change](console(acme_admin, acme), lic, tok)
    assert state(acme) == before


COMMANDS = {
    "createlicense": lambda lic, tok: ["createlicense", "acme", "globex", "Gold"],
    "grant": lambda lic, tok: ["grant", str(lic.pk), "acme/app", "glob:*"],
    "suspendlicense": lambda lic, tok: ["suspendlicense", str(lic.pk)],
    "suspendcustomer": lambda lic, tok: ["suspendcustomer", "acme", "globex"],
    "createtoken": lambda lic, tok: [
        "createtoken",
        "--vendor",
        "acme",
        "--kind",
        "pull",
        "--customer",
        "globex",
        "--name",
        "x",
    ],
    "revoketoken": lambda lic, tok: ["revoketoken", tok.prefix],
    "createcustomer": lambda lic, tok: ["createcustomer", "acme", "initech"],
}


@pytest.mark.parametrize("command", COMMANDS)
def test_a_command_change_and_its_audit_row_commit_together(
    command, acme, customer, fail_after_audit
):
    lic = _license(acme, customer)
    tok = token_mint(vendor=acme, customer=customer, kind="pull", name="laptop").token
    before = state(acme)
    fail_after_audit()
    with pytest.raises(Forced):
        call_command(*COMMANDS[command](lic, tok), stdout=io.StringIO(), stderr=io.StringIO())
    assert state(acme) == before


def test_without_the_forced_failure_each_command_leaves_its_row_named_after_it(acme, customer):
    lic = _license(acme, customer)
    tok = token_mint(vendor=acme, customer=customer, kind="pull", name="laptop").token
    for command, args in COMMANDS.items():
        before = AuditEvent.objects.filter(vendor=acme).count()
        call_command(*args(lic, tok), stdout=io.StringIO(), stderr=io.StringIO())
        new = AuditEvent.objects.filter(vendor=acme).order_by("pk")[before:]
        assert [e.actor for e in new] == [f"command:{command}"], command


def _license(vendor, customer):
    return license_create(vendor=vendor, customer=customer, name="Base")
