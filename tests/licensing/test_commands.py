"""License management commands: createlicense, grant, suspendlicense, licensecoverage."""

import datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from customers.services import customer_create, token_mint, vendor_create
from licensing.models import License, LicenseGrant
from tests.conftest import basic
from tests.support.licensing import REPO, denied, push_scenario
from tests.support.registry_client import image_manifest, put_manifest

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def fails(*args: str) -> str:
    with pytest.raises(CommandError) as raised:
        run(*args)
    return str(raised.value)


@pytest.fixture
def license_id(customer, pushed) -> str:
    return run("createlicense", "acme", "globex", "Enterprise").strip()


def test_createlicense_prints_the_id(customer):
    output = run("createlicense", "acme", "globex", "Enterprise 2030", "--until", "2030-12-31")
    assert output.endswith("\n")
    license = License.objects.get(pk=int(output))
    assert license.name == "Enterprise 2030"
    assert license.customer == customer
    assert license.vendor == customer.vendor
    assert license.valid_from == datetime.date.today()
    assert license.valid_until == datetime.date(2030, 12, 31)
    assert license.status == License.Status.ACTIVE


def test_createlicense_perpetual_and_from(customer):
    perpetual = License.objects.get(pk=int(run("createlicense", "acme", "globex", "Forever")))
    assert perpetual.valid_until is None
    later = run("createlicense", "acme", "globex", "Later", "--from", "2031-01-01")
    assert License.objects.get(pk=int(later)).valid_from == datetime.date(2031, 1, 1)


def test_createlicense_errors(customer):
    initech, _ = vendor_create(slug="initech", name="Initech")
    customer_create(vendor=initech, slug="hooli", name="Hooli")
    assert fails("createlicense", "nobody", "globex", "X") == "no vendor 'nobody'"
    assert fails("createlicense", "acme", "nobody", "X") == "no customer 'nobody' of acme"
    assert fails("createlicense", "acme", "hooli", "X") == "no customer 'hooli' of acme"
    assert fails("createlicense", "acme", "globex", "X", "--until", "31/12/2030") == (
        "invalid date '31/12/2030': use YYYY-MM-DD"
    )
    assert fails("createlicense", "acme", "globex", "   ") == "a license needs a name"
    assert fails(
        "createlicense", "acme", "globex", "X", "--from", "2030-01-02", "--until", "2030-01-01"
    ) == ("a license cannot end before it starts")
    assert not License.objects.exists()


@pytest.mark.parametrize(
    "rule, kind, pattern",
    [
        ("exact:1.0", "exact", "1.0"),
        ("glob:1.*", "glob", "1.*"),
        ("semver:>=1.0,<2", "semver", ">=1.0,<2"),
    ],
)
def test_grant_rule_kinds(license_id, rule, kind, pattern):
    assert run("grant", license_id, REPO, rule) == f"granted {rule} on {REPO}\n"
    grant = LicenseGrant.objects.get(license_id=license_id)
    assert (grant.repository_name, grant.rule, grant.pattern) == (REPO, kind, pattern)
    assert grant.include_referrers is True


def test_grant_no_referrers(license_id):
    run("grant", license_id, REPO, "glob:*", "--no-referrers")
    assert LicenseGrant.objects.get(license_id=license_id).include_referrers is False


def test_grant_errors(license_id):
    initech, _ = vendor_create(slug="initech", name="Initech")
    ci = Client(HTTP_AUTHORIZATION=basic(token_mint(vendor=initech, kind="push", name="c").secret))
    push_scenario(ci, repo="initech/app")
    rule_help = "a tag rule is exact:TAG, glob:PATTERN or semver:RANGE"
    assert fails("grant", license_id, REPO, "regex:1.*") == rule_help
    assert fails("grant", license_id, REPO, "1.*") == rule_help
    assert fails("grant", license_id, REPO, "glob:") == rule_help
    assert fails("grant", license_id, REPO, "semver:>>1") == (
        "invalid version range '>>1' (e.g. >=1.0,<2)"
    )
    outside = "a grant names repositories inside acme/ (e.g. acme/app or acme/charts/*)"
    assert fails("grant", license_id, "initech/app", "glob:*") == outside
    assert fails("grant", license_id, "initech/*", "glob:*") == outside
    assert fails("grant", license_id, "*/app", "glob:*") == outside
    assert fails("grant", license_id, "acme", "glob:*") == outside
    assert fails("grant", license_id, "acme/", "glob:*") == outside
    invalid = (
        "invalid repository name or pattern {!r}: lower-case letters, digits and . _ - "
        "separators, with * or ? as wildcards"
    )
    for bad in ("acme/App", "acme/a/../b", "acme/a%2fb", "acme/a//b", "acme/[ab]", "acme/-x"):
        assert fails("grant", license_id, bad, "glob:*") == invalid.format(bad)
    assert fails("grant", license_id, "acme/**/x", "glob:*") == (
        "** may only stand alone as the last component (acme/charts/**)"
    )
    assert fails("grant", license_id, "acme/charts**", "glob:*") == (
        "** may only stand alone as the last component (acme/charts/**)"
    )
    assert fails("grant", "999999", REPO, "glob:*") == "no license 999999"
    assert not LicenseGrant.objects.exists()


def test_licensecoverage_lists_repositories_and_covered_tags(client, license_id):
    push_scenario(client, repo="acme/tools")
    run("grant", license_id, REPO, "glob:1.*")
    run("grant", license_id, REPO, "exact:2.0")
    run("grant", license_id, "acme/tools", "semver:>=2,<3")
    assert run("licensecoverage", license_id).splitlines() == [
        "Enterprise (active, until perpetual)",
        "acme/app: 1.0 1.1 2.0",
        "acme/tools: 2.0",
    ]


def test_licensecoverage_of_a_rule_covering_nothing(license_id):
    run("grant", license_id, REPO, "semver:>=5")
    assert run("licensecoverage", license_id).splitlines()[1:] == ["acme/app: (nothing)"]
    assert fails("licensecoverage", "999999") == "no license 999999"


def test_suspendlicense_stops_pulls(license_id, pull_secret, pushed):
    run("grant", license_id, REPO, "glob:*")
    assert run("suspendlicense", license_id) == f"suspended license {license_id} (Enterprise)\n"
    assert License.objects.get(pk=license_id).status == License.Status.SUSPENDED
    globex = Client(HTTP_AUTHORIZATION=basic(pull_secret))
    denied(globex.get(f"/v2/{REPO}/manifests/1.0"), "license 'Enterprise' is suspended")
    assert run("licensecoverage", license_id).splitlines() == [
        "Enterprise (suspended, until perpetual)",
        "acme/app: (nothing)",
    ]
    assert fails("suspendlicense", "999999") == "no license 999999"


def test_expired_license_coverage(customer, pushed):
    license_id = run(
        "createlicense",
        "acme",
        "globex",
        "Enterprise 2026",
        "--from",
        "2026-01-01",
        "--until",
        "2026-06-30",
    ).strip()
    run("grant", license_id, REPO, "glob:*")
    assert run("licensecoverage", license_id).splitlines() == [
        "Enterprise 2026 (active, until 2026-06-30)",
        "acme/app: (nothing)",
    ]


def test_the_commands_one_after_another(client, customer):
    _, raw = image_manifest(client, "acme/app")
    for tag in ("1.0", "1.5", "2.0", "latest"):
        assert put_manifest(client, "acme/app", tag, raw).status_code == 201
    license_id = int(run("createlicense", "acme", "globex", "Ent", "--until", "2030-12-31"))
    license = License.objects.get(pk=license_id)
    assert license.valid_until == datetime.date(2030, 12, 31)
    assert license.customer == customer
    assert run("grant", str(license_id), "acme/app", "semver:>=1.0,<2") == (
        "granted semver:>=1.0,<2 on acme/app\n"
    )
    assert run("grant", str(license_id), "acme/app", "exact:latest").startswith("granted")
    assert LicenseGrant.objects.filter(license=license).count() == 2
    assert run("licensecoverage", str(license_id)).splitlines() == [
        "Ent (active, until 2030-12-31)",
        "acme/app: 1.0 1.5 latest",
    ]
    for bad, message in [
        (("grant", str(license_id), "acme/app", "regex:.*"), "a tag rule is"),
        (("grant", str(license_id), "acme/app", "semver:>>1"), "invalid version range"),
        (("grant", str(license_id), "initech/app", "glob:*"), "inside acme/"),
        (("createlicense", "acme", "nobody", "X"), "no customer"),
        (("createlicense", "acme", "globex", "X", "--until", "31/12/2030"), "invalid date"),
    ]:
        with pytest.raises(CommandError, match=message):
            run(*bad)
    assert run("suspendlicense", str(license_id)) == f"suspended license {license_id} (Ent)\n"
    assert License.objects.get(pk=license_id).status == "suspended"
    assert run("licensecoverage", str(license_id)).splitlines()[1] == "acme/app: (nothing)"
