"""Vendor domain ownership (issue 12, item B): a claimed host serves the vendor's portal
only once a DNS TXT record `_distr-challenge.<host>` holds the domain's token; the public
host, loopback aliases, operator-listed hosts, IP addresses and another vendor's verified
domain can never be claimed; pending claims are inert. The DNS server is a real one on
loopback (tests/support/dns_server.py)."""

import pytest
from django.core.management import call_command
from django.test import Client, override_settings

from customers.models import AuditEvent
from portal.models import VendorDomain
from portal.services import PortalError, domain_add, domain_verify
from portal.tasks import domains_verify_pending
from tests.portal.conftest import ACME_HOST, UMBRELLA_HOST, messages_text, sign_in
from tests.support.dns_server import TxtDnsServer

pytestmark = pytest.mark.django_db

NEW_HOST = "downloads.acme.test"


@pytest.fixture
def dns():
    with (
        TxtDnsServer() as server,
        override_settings(DISTR_DNS_NAMESERVERS=[server.address], DISTR_DNS_TIMEOUT_SECONDS=2.0),
    ):
        yield server


def add(client, host, prefix="/p/acme"):
    return client.post(f"{prefix}/console/branding/domains/add", {"host": host}, follow=True)


def test_added_domain_is_pending_and_inert_until_verified_then_serves_until_removed(
    acme, acme_admin, dns
):
    c = sign_in(acme_admin, acme)
    response = add(c, NEW_HOST)
    assert "Publish its TXT record" in messages_text(response)
    domain = VendorDomain.objects.get(host=NEW_HOST)
    assert domain.verified_at is None and len(domain.token) >= 32
    page = c.get("/p/acme/console/branding/").content.decode()
    assert f"_distr-challenge.{NEW_HOST}" in page and domain.token in page and "pending" in page
    # Pending: the host is unknown to the server.
    assert Client(HTTP_HOST=NEW_HOST).get("/accounts/login/").status_code == 400

    # "Verify now" before the record exists: refused, reason shown, still inert.
    response = c.post(f"/p/acme/console/branding/domains/{domain.pk}/verify", follow=True)
    assert f"no TXT record at _distr-challenge.{NEW_HOST} yet" in messages_text(response)
    assert Client(HTTP_HOST=NEW_HOST).get("/accounts/login/").status_code == 400
    # A record with something else in it does not verify either.
    dns.txt[f"_distr-challenge.{NEW_HOST}"] = ["someone-elses-token"]
    response = c.post(f"/p/acme/console/branding/domains/{domain.pk}/verify", follow=True)
    assert "does not hold this domain's token" in messages_text(response)

    dns.txt[f"_distr-challenge.{NEW_HOST}"] = ["unrelated", domain.token]
    response = c.post(f"/p/acme/console/branding/domains/{domain.pk}/verify", follow=True)
    assert f"{NEW_HOST} is verified and now serves this portal." in messages_text(response)
    assert f"_distr-challenge.{NEW_HOST}" in dns.queries
    page = Client(HTTP_HOST=NEW_HOST).get("/accounts/login/")
    assert page.status_code == 200 and b"Acme Software" in page.content

    c.post(f"/p/acme/console/branding/domains/{domain.pk}/remove")
    assert Client(HTTP_HOST=NEW_HOST).get("/accounts/login/").status_code == 400
    actions = list(
        AuditEvent.objects.filter(vendor=acme, target=NEW_HOST)
        .order_by("pk")
        .values_list("action", "actor")
    )
    actor = f"user:{acme_admin.pk}"
    assert actions == [
        ("domain.added", actor),
        ("domain.verified", actor),
        ("domain.removed", actor),
    ]


@pytest.mark.parametrize(
    ("host", "message"),
    [
        ("127.0.0.1", "use a host name, not an IP address"),
        ("10.0.0.7", "use a host name, not an IP address"),
        ("localhost", "a host name like portal.example.com"),
        ("localhost.localdomain", "is this server's own host name"),
        ("portal.distr-operator.example", "is this server's own host name"),
        ("eu.distr-operator.example", "is this server's own host name"),
        (ACME_HOST, "already in use"),
    ],
)
@override_settings(
    DISTR_ALLOWED_HOSTS=[
        "127.0.0.1",
        "localhost",
        "localhost.localdomain",
        "testserver",
        "portal.distr-operator.example",
        ".distr-operator.example",
    ]
)
def test_reserved_and_taken_hosts_cannot_be_claimed(acme, umbrella, umbrella_admin, host, message):
    c = sign_in(umbrella_admin, umbrella)
    response = add(c, host, prefix="/p/umbrella")
    assert message in messages_text(response)
    assert not VendorDomain.objects.filter(vendor=umbrella, host=host).exists()


def test_the_public_host_cannot_be_claimed_and_acme_keeps_its_portal(acme, acme_admin, umbrella):
    """The tester's case: umbrella's admin adds the registry's own host."""
    with pytest.raises(PortalError, match="not an IP address"):
        domain_add(vendor=umbrella, host="127.0.0.1")
    with (
        override_settings(DISTR_PUBLIC_URL="https://distr.example.com"),
        override_settings(DISTR_ALLOWED_HOSTS=["distr.example.com", "127.0.0.1", "testserver"]),
    ):
        with pytest.raises(PortalError, match="this server's own host name"):
            domain_add(vendor=umbrella, host="distr.example.com")
    page = Client(HTTP_HOST="127.0.0.1:8000").get("/p/acme/accounts/login/")
    assert page.status_code == 200 and b"Acme Software" in page.content
    assert not VendorDomain.objects.filter(vendor=umbrella).exclude(host=UMBRELLA_HOST).exists()


def test_pending_claims_coexist_and_the_first_verified_wins(acme, umbrella, dns):
    mine = domain_add(vendor=acme, host="shared.example.org")
    theirs = domain_add(vendor=umbrella, host="shared.example.org")
    # Both vendors publish their token (say the domain changed hands): the first to
    # verify holds it, the other's claim is refused and stays inert.
    dns.txt["_distr-challenge.shared.example.org"] = [mine.token, theirs.token]
    domain_verify(domain=mine)
    with pytest.raises(PortalError, match="verified by another vendor"):
        domain_verify(domain=theirs)
    theirs.refresh_from_db()
    assert theirs.verified_at is None
    assert theirs.check_error == "shared.example.org is verified by another vendor"
    page = Client(HTTP_HOST="shared.example.org").get("/accounts/login/")
    assert page.status_code == 200 and b"Acme Software" in page.content
    # Once taken, new claims are refused outright.
    with pytest.raises(PortalError, match="already in use"):
        domain_add(vendor=umbrella, host="SHARED.example.org.")


def test_another_vendors_pending_claim_does_not_touch_a_verified_portal(acme, umbrella, dns):
    """Umbrella claims acme's (verified) host through the back door of a race: the
    database refuses a second verified row for one host."""
    claim = VendorDomain.objects.create(vendor=umbrella, host=ACME_HOST)
    dns.txt[f"_distr-challenge.{ACME_HOST}"] = [claim.token]
    with pytest.raises(PortalError, match="verified by another vendor"):
        domain_verify(domain=claim)
    page = Client(HTTP_HOST=ACME_HOST).get("/accounts/login/")
    assert page.status_code == 200 and b"Acme Software" in page.content


def test_a_failing_dns_server_leaves_the_claim_pending(acme):
    domain = domain_add(vendor=acme, host=NEW_HOST)
    # Nothing listens on this port: a timeout, reported, not a crash.
    with override_settings(DISTR_DNS_NAMESERVERS=["127.0.0.1:9"], DISTR_DNS_TIMEOUT_SECONDS=0.5):
        with pytest.raises(PortalError, match="DNS lookup of _distr-challenge"):
            domain_verify(domain=domain)
    domain.refresh_from_db()
    assert domain.verified_at is None and domain.checked_at is not None


def test_the_celery_sweep_and_the_command_verify_pending_domains(acme, umbrella, dns, capsys):
    first = domain_add(vendor=acme, host="one.acme.test")
    second = domain_add(vendor=umbrella, host="two.umbrella.test")
    dns.txt["_distr-challenge.one.acme.test"] = [first.token]
    assert domains_verify_pending.apply().get() == 1
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.verified_at is not None and second.verified_at is None
    assert AuditEvent.objects.filter(action="domain.verified", actor="system").count() == 1

    dns.txt["_distr-challenge.two.umbrella.test"] = [second.token]
    call_command("verifydomains", "two.umbrella.test")
    assert "two.umbrella.test (umbrella): verified" in capsys.readouterr().out
    assert Client(HTTP_HOST="two.umbrella.test").get("/accounts/login/").status_code == 200


def test_viewers_cannot_verify(acme, acme_viewer, dns):
    domain = domain_add(vendor=acme, host=NEW_HOST)
    dns.txt[f"_distr-challenge.{NEW_HOST}"] = [domain.token]
    response = sign_in(acme_viewer, acme).post(
        f"/p/acme/console/branding/domains/{domain.pk}/verify"
    )
    assert response.status_code == 403
    domain.refresh_from_db()
    assert domain.verified_at is None
