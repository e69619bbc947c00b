"""docs/api.md's onboarding example, run as written (bash and curl) against a live server:
only the server's address and the token change. Each curl has -f, so a refused call fails
the script, and the objects it created are then checked."""

import re
import subprocess
from pathlib import Path

import pytest

from customers.models import AccessToken, Customer
from customers.services import token_mint
from licensing.models import License
from portal.models import Invitation
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


@pytest.mark.parametrize("heading", ["Onboarding a customer, from a CRM", "A release from CI"])
def test_the_examples_name_real_endpoints(heading):
    for path in re.findall(r"\$API(/[\w/{}$?=&:.*-]*)", example(heading)):
        assert path.split("?")[0].rstrip("/").split("/")[1] in {
            "customers",
            "licenses",
            "tokens",
            "grants",
        }, path
