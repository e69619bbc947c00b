"""License management commands, and skopeo with a customer token seeing the license."""

import datetime

import pytest
from django.core.management import CommandError, call_command

from licensing.models import License, LicenseGrant
from tests.conftest import license_grant
from tests.support.oci_layout import image_layout
from tests.support.registry_client import image_manifest, put_manifest
from tests.support.skopeo import skopeo


def run(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().strip()


@pytest.mark.django_db
def test_license_commands(client, customer):
    _, raw = image_manifest(client, "acme/app")
    for tag in ("1.0", "1.5", "2.0", "latest"):
        put_manifest(client, "acme/app", tag, raw)
    license_id = int(run("createlicense", "acme", "globex", "Ent", "--until", "2030-12-31"))
    license = License.objects.get(pk=license_id)
    assert license.valid_until == datetime.date(2030, 12, 31)
    assert license.customer == customer
    assert run("grant", str(license_id), "acme/app", "semver:>=1.0,<2") == (
        "granted semver:>=1.0,<2 on acme/app"
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
    assert run("suspendlicense", str(license_id)) == f"suspended license {license_id} (Ent)"
    assert License.objects.get(pk=license_id).status == "suspended"
    assert run("licensecoverage", str(license_id)).splitlines()[1] == "acme/app: (nothing)"


def test_skopeo_shows_the_license_decision(
    live_registry, repo_name, customer, pull_secret, tmp_path
):
    for tag in ("1.0", "2.0"):
        layout = image_layout(tmp_path / tag, [64, 128], tag=tag)
        skopeo(
            "copy",
            "--preserve-digests",
            "--dest-tls-verify=false",
            layout.ref,
            f"docker://{live_registry.host}/{repo_name}:{tag}",
        )
    license_grant(customer, repo_name, "glob:1.*")
    creds = f"--src-creds=globex:{pull_secret}"
    skopeo(
        "copy",
        "--src-tls-verify=false",
        creds,
        f"docker://{live_registry.host}/{repo_name}:1.0",
        f"oci:{tmp_path / 'out'}:1.0",
        auth={},
    )
    with pytest.raises(AssertionError, match=r"tag '2\.0' of .* is not covered by your license"):
        skopeo(
            "copy",
            "--src-tls-verify=false",
            creds,
            f"docker://{live_registry.host}/{repo_name}:2.0",
            f"oci:{tmp_path / 'x'}:2.0",
            auth={},
        )
