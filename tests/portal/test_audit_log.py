"""The audit log is usable: readable actors, the client's address, sign-ins and failed
sign-ins, refused dead tokens, changes made by commands, CSV export, vendor-scoped."""

import csv
import io

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client

from customers.models import AuditEvent
from customers.services import token_mint, token_revoke
from tests.conftest import basic, license_grant
from tests.portal.conftest import login, sign_in

pytestmark = pytest.mark.django_db


def rows(vendor, action):
    return list(AuditEvent.objects.filter(vendor=vendor, action=action).order_by("pk"))


def test_a_sign_in_is_audited_with_who_and_from_where(acme, acme_admin):
    response = login(Client(REMOTE_ADDR="198.51.100.7"), "acme", "admin@acme.test")
    assert response.status_code == 302
    (event,) = rows(acme, "user.login")
    assert (event.actor, event.target, event.client_address) == (
        f"user:{acme_admin.pk}",
        "admin@acme.test",
        "198.51.100.7",
    )


def test_failed_sign_ins_are_audited_once_per_address_and_account_a_minute(acme, acme_admin):
    client = Client(REMOTE_ADDR="203.0.113.9")
    for _ in range(3):
        assert login(client, "acme", "admin@acme.test", "wrong").status_code == 200
    login(client, "acme", "nobody@acme.test", "wrong")
    failed = rows(acme, "user.login_failed")
    assert [(e.target, e.client_address) for e in failed] == [
        ("admin@acme.test", "203.0.113.9"),
        ("nobody@acme.test", "203.0.113.9"),
    ]
    assert rows(acme, "user.login") == []


def test_a_revoked_token_refused_by_the_registry_shows_in_its_vendors_log(acme, customer):
    minted = token_mint(vendor=acme, customer=customer, kind="pull", name="old laptop")
    token_revoke(token=minted.token)
    refused = Client(HTTP_AUTHORIZATION=basic(minted.secret), REMOTE_ADDR="192.0.2.44").get(
        "/v2/token", {"service": settings.REGISTRY_SERVICE, "scope": "repository:acme/app:pull"}
    )
    assert refused.status_code == 401
    (event,) = rows(acme, "auth.failed")
    assert event.actor == f"token:{minted.token.prefix}"
    assert event.target == "old laptop"
    assert event.client_address == "192.0.2.44"
    assert event.details["reason"] == "revoked"


def test_console_changes_record_the_client_address(acme, acme_admin, customer):
    c = sign_in(acme_admin, acme, REMOTE_ADDR="198.51.100.23")
    c.post("/p/acme/console/customers/globex/suspend", {"suspend": "1", "confirmed": "1"})
    (event,) = rows(acme, "customer.suspended")
    assert (event.actor, event.client_address) == (f"user:{acme_admin.pk}", "198.51.100.23")


def test_license_changes_made_by_commands_are_audited(acme, customer):
    out = io.StringIO()
    call_command("createlicense", "acme", "globex", "Support", stdout=out)
    license_id = int(out.getvalue().strip())
    call_command("suspendlicense", str(license_id), stdout=io.StringIO())
    call_command("suspendcustomer", "acme", "globex", stdout=io.StringIO())
    got = [
        (e.action, e.actor)
        for e in AuditEvent.objects.filter(vendor=acme).order_by("pk")
        if e.action.startswith(("license.", "customer.suspended"))
    ]
    assert got == [
        ("license.created", "command:createlicense"),
        ("license.updated", "command:suspendlicense"),
        ("customer.suspended", "command:suspendcustomer"),
    ]


def test_the_log_names_actors_and_filters_by_what_it_shows(acme, acme_admin, customer):
    push = token_mint(vendor=acme, kind="push", name="release CI")
    pull = token_mint(vendor=acme, customer=customer, kind="pull", name="prod")
    license_grant(customer, "acme/app")  # actor "system"
    for actor in (f"user:{acme_admin.pk}", f"token:{push.token.prefix}", "command:grant"):
        AuditEvent.objects.create(vendor=acme, action="tag.moved", actor=actor, target="x")
    AuditEvent.objects.create(
        vendor=acme, action="tag.moved", actor=f"token:{pull.token.prefix}", target="y"
    )
    c = sign_in(acme_admin, acme)
    page = c.get("/p/acme/console/audit/").content.decode()
    assert ">admin@acme.test</td>" in page
    assert ">CI token “release CI”</td>" in page
    assert ">pull token “prod” (Globex)</td>" in page
    assert ">command grant</td>" in page
    filtered = c.get("/p/acme/console/audit/", {"actor": "admin@acme"}).content.decode()
    assert ">admin@acme.test</td>" in filtered and "release CI" not in filtered


def test_csv_export_has_every_filtered_row_of_this_vendor_only(acme, acme_admin, customer):
    from customers.services import vendor_create

    umbrella = vendor_create(slug="umbrella", name="Umbrella")[0]
    AuditEvent.objects.create(vendor=umbrella, action="tag.moved", actor="x", target="secret")
    for i in range(120):  # more than a page
        AuditEvent.objects.create(
            vendor=acme, action="tag.moved", actor=f"user:{acme_admin.pk}", target=f"t{i}"
        )
    AuditEvent.objects.create(vendor=acme, action="tag.deleted", actor="x", target="=cmd()")
    response = sign_in(acme_admin, acme).get(
        "/p/acme/console/audit/export.csv", {"action": "tag.moved"}
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "no-store" in response["Cache-Control"]
    table = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(table) == 120
    assert {r["actor"] for r in table} == {"admin@acme.test"}
    assert table[0]["target"] == "t119" and table[-1]["target"] == "t0"
    everything = sign_in(acme_admin, acme).get("/p/acme/console/audit/export.csv")
    text = b"".join(everything.streaming_content).decode()
    assert "secret" not in text  # another vendor's row
    assert "'=cmd()" in text  # formula-injection safe


def test_csv_export_is_for_staff_only(acme, globex_admin):
    response = sign_in(globex_admin, acme).get("/p/acme/console/audit/export.csv")
    assert (response.status_code, response["Location"]) == (302, "/p/acme/")
