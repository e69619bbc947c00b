"""docs/api.md's examples (onboarding, a release from CI), run as written (bash, curl,
skopeo) against a live server: only the server's address and the tokens change. Each curl
has -f, so a refused call fails the script, and the objects it created are then checked."""

import json
import re
import subprocess
from pathlib import Path

import pytest

from customers.models import AccessToken, Customer
from customers.services import token_mint
from licensing.models import License
from licensing.services import license_create
from portal.models import Invitation
from registry.models import Tag
from tests.support.oci_layout import image_layout
from tests.support.requirements import require_command

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def example(heading: str) -> str:
    text = DOC.read_text()
    section = text[text.index(f"## {heading}") :]
    return re.search(r"```sh\n(.*?)```", section, re.S).group(1)


def test_the_onboarding_example_runs_as_written(live_registry, vendor):
    require_command("curl")
    script = example("Onboarding a customer, from a CRM")
    assert "API=http://127.0.0.1:8000/api/v1" in script
    script = script.replace("http://127.0.0.1:8000", live_registry.url)
    secret = token_mint(vendor=vendor, kind="api", name="crm", scopes=["write"]).secret
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        env={"PATH": "/usr/bin:/bin", "DISTR_API_TOKEN": secret},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    customer = Customer.objects.get(vendor=vendor, slug="globex")
    (license,) = License.objects.filter(customer=customer)
    assert (license.name, str(license.valid_until)) == ("Enterprise 2027", "2027-12-31")
    assert [(g.repository_name, g.rule, g.pattern) for g in license.grants.all()] == [
        ("acme/app", "semver", ">=1.0,<3")
    ]
    assert Invitation.objects.filter(customer=customer, email="ops@globex.example").exists()
    (pull,) = AccessToken.objects.filter(customer=customer, kind="pull")
    assert pull.name == "prod cluster"
    assert '"secret":"distr_pull_' in done.stdout  # shown once, in the answer


def test_the_release_example_runs_as_written(
    live_registry, vendor, customer, push_secret, tmp_path
):
    require_command("curl")
    require_command("skopeo")
    license = license_create(vendor=vendor, customer=customer, name="Enterprise")
    layout = image_layout(tmp_path / "layout", [2048], tag="3.0.0")
    subprocess.run(
        ["tar", "-cf", "app-3.0.0.tar", "-C", str(layout.path), "."], cwd=tmp_path, check=True
    )
    # skopeo's trust policy, where a workstation keeps it (the machine may have no
    # /etc/containers/policy.json): accept anything, as its default does.
    policy = tmp_path / ".config" / "containers" / "policy.json"
    policy.parent.mkdir(parents=True)
    policy.write_text('{"default": [{"type": "insecureAcceptAnything"}]}')
    script = example("A release from CI")
    assert "REGISTRY=127.0.0.1:8000 " in script
    script = script.replace("127.0.0.1:8000", live_registry.host)
    api_secret = token_mint(vendor=vendor, kind="api", name="ci", scopes=["licenses:write"]).secret
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=tmp_path,
        env={
            "PATH": "/usr/bin:/bin",
            "HOME": str(tmp_path),
            "DISTR_API_TOKEN": api_secret,
            "DISTR_PUSH_TOKEN": push_secret,
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    tag = Tag.objects.get(repository__name="acme/app", name="3.0.0")
    # The image built (skopeo gzips the test's random "layer", so compare the config).
    pushed = json.loads(bytes(tag.manifest.content))
    built = json.loads(layout.blobs[layout.top_digest].read_bytes())
    assert pushed["config"]["digest"] == built["config"]["digest"]
    assert [(g.repository_name, g.rule, g.pattern) for g in license.grants.all()] == [
        ("acme/app", "glob", "3.*")
    ]
    # The preview, the script's last answer, lists the tag just pushed.
    preview = done.stdout.strip().splitlines()[-1]
    assert '"3.0.0"' in preview, preview


@pytest.mark.parametrize("heading", ["Onboarding a customer, from a CRM", "A release from CI"])
def test_the_examples_name_real_endpoints(heading):
    for path in re.findall(r"\$API(/[\w/{}$?=&:.*-]*)", example(heading)):
        assert path.split("?")[0].rstrip("/").split("/")[1] in {
            "customers",
            "licenses",
            "tokens",
            "grants",
        }, path
