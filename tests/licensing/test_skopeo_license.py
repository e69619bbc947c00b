"""skopeo with a customer's pull token against the live server: an entitled image copies,
a tag the license does not cover fails with the license's reason in skopeo's stderr."""

import json

import pytest

from customers.services import customer_create, token_mint
from tests.conftest import license_grant
from tests.support.oci_layout import image_layout
from tests.support.skopeo import skopeo


def push(live_registry, repo_name: str, tmp_path, tag: str, sizes: list[int]):
    layout = image_layout(tmp_path / f"src-{tag}", sizes, tag=tag)
    skopeo(
        "copy",
        "--preserve-digests",
        "--dest-tls-verify=false",
        layout.ref,
        f"docker://{live_registry.host}/{repo_name}:{tag}",
    )
    return layout


def pull(live_registry, repo_name: str, tag: str, creds: str, target):
    return skopeo(
        "copy",
        "--preserve-digests",
        "--src-tls-verify=false",
        f"--src-creds={creds}",
        f"docker://{live_registry.host}/{repo_name}:{tag}",
        f"oci:{target}:{tag}",
        auth={},  # only the customer's credentials
    )


def test_skopeo_with_a_customer_token_sees_the_license(
    live_registry, repo_name, customer, pull_secret, tmp_path
):
    entitled = push(live_registry, repo_name, tmp_path, "1.0", [300, 700])
    push(live_registry, repo_name, tmp_path, "2.0", [500])
    license_grant(customer, repo_name, "glob:1.*", name="Support 1.x")
    creds = f"globex:{pull_secret}"

    pull(live_registry, repo_name, "1.0", creds, tmp_path / "out")
    index = json.loads((tmp_path / "out" / "index.json").read_text())
    assert [m["digest"] for m in index["manifests"]] == [entitled.top_digest]

    with pytest.raises(AssertionError) as raised:
        pull(live_registry, repo_name, "2.0", creds, tmp_path / "denied")
    stderr = str(raised.value)
    assert f"tag '2.0' of {repo_name} is not covered by your license" in stderr
    assert "denied" in stderr.lower()


def test_skopeo_with_another_customers_token_is_told_it_has_no_license(
    live_registry, repo_name, vendor, customer, tmp_path
):
    push(live_registry, repo_name, tmp_path, "1.0", [100])
    license_grant(customer, repo_name, "glob:*", name="Globex only")
    initial, _ = customer_create(vendor=vendor, slug="initial", name="Initial")
    secret = token_mint(vendor=vendor, customer=initial, kind="pull", name="i").secret
    with pytest.raises(AssertionError) as raised:
        pull(live_registry, repo_name, "1.0", f"initial:{secret}", tmp_path / "x")
    stderr = str(raised.value)
    assert f"no license of yours covers {repo_name}" in stderr
    assert "globex" not in stderr.lower()
