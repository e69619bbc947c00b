"""Real clients with token credentials against the live server: skopeo and oras-py go
through the challenge and /v2/token themselves. The token management commands are in
tests/customers/test_commands.py."""

import json
from pathlib import Path

import pytest

from registry.models import Manifest, Repository
from tests.conftest import license_grant
from tests.support.oci_layout import image_layout
from tests.support.oras_client import oras_client
from tests.support.skopeo import skopeo

needs_skopeo = pytest.mark.requires_command("skopeo")


def docker_ref(live, repo: str, tag: str = "v1") -> str:
    return f"docker://{live.host}/{repo}:{tag}"


def push(live, layout, repo: str, *flags: str, auth: dict | None = None):
    return skopeo(
        "copy", "--dest-tls-verify=false", *flags, layout.ref, docker_ref(live, repo), auth=auth
    )


def pull(live, repo: str, dest: Path, *flags: str, auth: dict | None = None):
    return skopeo(
        "copy",
        "--src-tls-verify=false",
        *flags,
        docker_ref(live, repo),
        f"oci:{dest}:v1",
        auth=auth,
    )


def pulled_manifest_digest(dest: Path) -> str:
    return json.loads((dest / "index.json").read_text())["manifests"][0]["digest"]


@pytest.fixture
def layout(tmp_path):
    return image_layout(tmp_path / "src", [1024, 7])


# --- skopeo ---------------------------------------------------------------------------


@needs_skopeo
def test_skopeo_pushes_with_dest_creds_and_pulls_with_the_auth_file(
    live_registry, push_secret, repo_name, layout, tmp_path
):
    push(
        live_registry,
        layout,
        repo_name,
        "--preserve-digests",
        f"--dest-creds=ci:{push_secret}",
        auth={},
    )
    assert Manifest.objects.filter(repository__name=repo_name, digest=layout.top_digest).exists()
    pull(live_registry, repo_name, tmp_path / "back", "--preserve-digests")  # default auth file
    assert pulled_manifest_digest(tmp_path / "back") == layout.top_digest


@needs_skopeo
def test_skopeo_customer_pull_token_pulls_but_cannot_push(
    live_registry, pull_secret, customer, repo_name, layout, tmp_path
):
    push(live_registry, layout, repo_name, "--preserve-digests")  # as acme CI
    license_grant(customer, repo_name)
    pull(
        live_registry,
        repo_name,
        tmp_path / "back",
        "--preserve-digests",
        f"--src-creds=globex:{pull_secret}",
        auth={},
    )
    assert pulled_manifest_digest(tmp_path / "back") == layout.top_digest

    other = image_layout(tmp_path / "other", [99])
    with pytest.raises(AssertionError, match=r"(?i)denied|unauthorized|forbidden"):
        push(live_registry, other, f"{repo_name}-x", f"--dest-creds=globex:{pull_secret}", auth={})
    assert not Repository.objects.filter(name=f"{repo_name}-x").exists()


@needs_skopeo
def test_skopeo_without_credentials_cannot_pull_a_private_repository(
    live_registry, repo_name, layout, tmp_path
):
    push(live_registry, layout, repo_name)
    with pytest.raises(AssertionError, match=r"(?i)unauthorized|denied"):
        pull(live_registry, repo_name, tmp_path / "back", auth={})


@needs_skopeo
def test_skopeo_without_credentials_pulls_a_public_repository(
    live_registry, repo_name, layout, tmp_path
):
    push(live_registry, layout, repo_name, "--preserve-digests")
    Repository.objects.filter(name=repo_name).update(is_public=True)
    pull(live_registry, repo_name, tmp_path / "back", "--preserve-digests", auth={})
    assert pulled_manifest_digest(tmp_path / "back") == layout.top_digest


@needs_skopeo
def test_skopeo_with_a_wrong_password_fails(live_registry, push_secret, repo_name, layout):
    wrong = push_secret[:-1] + ("a" if push_secret[-1] != "a" else "b")
    with pytest.raises(AssertionError, match=r"(?i)unauthorized|denied"):
        push(live_registry, layout, repo_name, f"--dest-creds=ci:{wrong}", auth={})
    assert not Repository.objects.filter(name=repo_name).exists()


# --- oras-py --------------------------------------------------------------------------


def test_oras_pushes_and_pulls_through_the_token_flow(
    live_registry, push_secret, repo_name, monkeypatch, tmp_path
):
    client = oras_client(monkeypatch, tmp_path, ("ci", push_secret))
    target = f"{live_registry.host}/{repo_name}:v1"
    Path("notes.txt").write_text("hello from oras\n")
    response = client.push(target=target, files=["notes.txt:text/plain"])
    assert response.status_code == 201, response.text
    assert Manifest.objects.filter(repository__name=repo_name).count() == 1

    reader = oras_client(monkeypatch, tmp_path / "reader", ("ci", push_secret))
    pulled = reader.pull(target=target, outdir=str(tmp_path / "out"))
    assert [Path(p).read_text() for p in pulled] == ["hello from oras\n"]


def test_oras_customer_pull_token_pulls(
    live_registry, push_secret, pull_secret, customer, repo_name, monkeypatch, tmp_path
):
    pusher = oras_client(monkeypatch, tmp_path, ("ci", push_secret))
    target = f"{live_registry.host}/{repo_name}:v1"
    Path("a.txt").write_text("for customers\n")
    assert pusher.push(target=target, files=["a.txt"]).status_code == 201
    license_grant(customer, repo_name)

    customer = oras_client(monkeypatch, tmp_path / "customer", ("globex", pull_secret))
    pulled = customer.pull(target=target, outdir=str(tmp_path / "out"))
    assert [Path(p).read_text() for p in pulled] == ["for customers\n"]
    Path("b.txt").write_text("not allowed\n")
    # The blob HEAD's challenge asks for pull,push; the token endpoint grants the pull token
    # only pull, so the upload's POST is refused (401 insufficient_scope) and oras gives up.
    with pytest.raises(ValueError, match=r"(?i)unauthorized|forbidden|denied|authentication"):
        customer.push(target=f"{live_registry.host}/{repo_name}:v2", files=["b.txt"])
    assert not Manifest.objects.filter(repository__name=repo_name, tags__name="v2").exists()


def test_oras_with_a_wrong_password_fails(
    live_registry, push_secret, repo_name, monkeypatch, tmp_path
):
    client = oras_client(monkeypatch, tmp_path, ("ci", push_secret[:-1] + "!"))
    Path("c.txt").write_text("x\n")
    with pytest.raises(ValueError, match=r"(?i)unauthorized|authentication"):
        client.push(target=f"{live_registry.host}/{repo_name}:v1", files=["c.txt"])
    assert not Repository.objects.filter(name=repo_name).exists()
