"""The verification examples in docs/license-keys.md, extracted and run as written with
Python, Node.js (built-in crypto) and bash with OpenSSL 3 and jq: a real key and lease
verify; a changed claim, a retired signing key and an expired lease do not."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from licensing.keys import lease_issue, license_key_current
from licensing.models import License
from licensing.plans import field_create, license_plan_set, plan_create
from licensing.services import license_create
from signing.services import signing_key_retire, signing_key_rotate
from tests.support.requirements import require_command

DOC = Path(__file__).resolve().parents[2] / "docs" / "license-keys.md"
RUNNERS = {"python": [sys.executable], "javascript": ["node"], "bash": ["bash"]}
SUFFIX = {"python": "py", "javascript": "js", "bash": "sh"}


def examples() -> dict[str, str]:
    section = DOC.read_text().split("## Verifying a key offline", 1)[1]
    return dict(re.findall(r"```(python|javascript|bash)\n(.*?)```", section, re.S))


def test_the_doc_has_the_three_examples():
    assert set(examples()) == {"python", "javascript", "bash"}


@pytest.fixture
def license(vendor, customer):
    field_create(vendor=vendor, key="tier", kind="one_of", choices=["starter", "enterprise"])
    field_create(vendor=vendor, key="sso", kind="boolean", default=True)
    plan = plan_create(vendor=vendor, name="Enterprise", values={"tier": "enterprise"}, seats=5)
    lic = license_create(vendor=vendor, customer=customer, name="Gold")
    return license_plan_set(license=lic, plan=plan)


def published(directory: Path, vendor_slug="acme"):
    jwks = Client().get(f"/p/{vendor_slug}/keys/jwks.json").json()
    (directory / "jwks.json").write_text(json.dumps(jwks))
    for key in jwks["keys"]:
        pem = Client().get(f"/p/{vendor_slug}/keys/{key['kid']}.pem")
        assert pem.status_code == 200
        (directory / f"{key['kid']}.pem").write_bytes(pem.content)


def run(language: str, directory: Path) -> subprocess.CompletedProcess:
    for command in ("node", "openssl", "jq") if language != "python" else ():
        require_command(command)
    script = directory / f"example.{SUFFIX[language]}"
    script.write_text(examples()[language])
    return subprocess.run(
        [*RUNNERS[language], script.name],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=60,
    )


def prepare(directory: Path, key: str, lease: str):
    (directory / "key.jwt").write_text(key + "\n")
    (directory / "lease.jwt").write_text(lease + "\n")
    published(directory)


@pytest.mark.parametrize("language", ["python", "javascript", "bash"])
def test_examples_verify_a_key_and_lease_and_read_the_fields(language, license, tmp_path):
    prepare(tmp_path, license_key_current(license), lease_issue(license))
    result = run(language, tmp_path)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["license"] == str(license.pk)
    assert out["plan"] == "Enterprise"
    assert out["fields"] == {"sso": True, "tier": "enterprise"}
    assert out["seats"] == 5
    assert out["lease_expires"] > 0


@pytest.mark.parametrize("language", ["python", "javascript", "bash"])
def test_examples_refuse_a_changed_claim(language, license, tmp_path):
    key = license_key_current(license)
    header, payload, signature = key.split(".")
    import base64

    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["seats"] = 500
    changed = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    prepare(tmp_path, f"{header}.{changed}.{signature}", lease_issue(license))
    result = run(language, tmp_path)
    assert result.returncode != 0
    assert "500" not in result.stdout


@pytest.mark.parametrize("language", ["python", "javascript", "bash"])
def test_examples_refuse_a_retired_signing_key_and_accept_it_before(
    language, license, vendor, tmp_path
):
    key, lease = license_key_current(license), lease_issue(license)
    old_kid = json.loads(Client().get("/p/acme/keys/jwks.json").content)["keys"][0]["kid"]
    signing_key_rotate(vendor=vendor)
    prepare(tmp_path, key, lease)
    assert run(language, tmp_path).returncode == 0  # rotated, not retired: still valid
    signing_key_retire(vendor=vendor, kid=old_kid)
    for stale in tmp_path.glob("*.pem"):
        stale.unlink()
    prepare(tmp_path, key, lease)
    assert run(language, tmp_path).returncode != 0


@pytest.mark.parametrize("language", ["python", "javascript", "bash"])
def test_examples_refuse_an_expired_lease(language, license, tmp_path):
    import time

    expired = lease_issue(License.objects.get(pk=license.pk), now=int(time.time()) - 8 * 86400)
    prepare(tmp_path, license_key_current(license), expired)
    result = run(language, tmp_path)
    assert result.returncode != 0
