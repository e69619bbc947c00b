"""podman (no daemon) against distr under gunicorn: login, push of images it loaded, pull
by tag and digest, a manifest list built from two platform images and pushed with
`manifest push --all`, and a customer's pull token refused an unentitled tag with distr's
license message."""

import re

from customers.services import token_mint
from tests.clients.conftest import (
    HOST_ARCH,
    OTHER_ARCH,
    make_image,
    write_docker_archive,
)
from tests.conftest import license_grant
from tests.support.registry_client import DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX
from tests.support.server import live_http

TLS = "--tls-verify=false"  # podman 4.3 would try HTTPS on 127.0.0.1


def local_name(repo_name: str, tag: str) -> str:
    return f"localhost/{repo_name.split('/')[-1]}:{tag}"


def load(podman, tmp_path, repo_name: str, images: dict) -> None:
    tagged = {local_name(repo_name, tag): image for tag, image in images.items()}
    archive = write_docker_archive(tmp_path / "images.tar", tagged)
    out = podman.run("load", "-i", str(archive)).stdout
    assert sorted(re.findall(r"^Loaded image: (\S+)$", out, re.M)) == sorted(tagged)


def logged_in(result) -> None:
    assert result.stdout == "Login Succeeded!\n", result.stdout + result.stderr


def push(podman, tmp_path, source: str, destination: str, *flags: str) -> str:
    """Push and return the digest podman wrote (--digestfile)."""
    digest_file = tmp_path / f"digest-{len(podman.transcript)}"
    podman.run(*flags, TLS, "--digestfile", str(digest_file), source, destination)
    return digest_file.read_text()


def exists(podman, image_id: str) -> bool:
    return (
        podman.run("image", "exists", image_id.removeprefix("sha256:"), check=False).returncode == 0
    )


def test_login_push_and_pull_by_tag_and_digest(
    podman, live_registry, live_credentials, repo_name, tmp_path
):
    host = live_registry.host
    image = make_image("podman 1.0")
    load(podman, tmp_path, repo_name, {"1.0": image})
    logged_in(podman.login(host, *live_credentials))

    ref = f"{host}/{repo_name}:1.0"
    digest = push(podman, tmp_path, local_name(repo_name, "1.0"), ref, "push")
    served = live_http.head(f"{live_registry.url}/v2/{repo_name}/manifests/1.0", timeout=10)
    assert (served.status_code, served.headers["Docker-Content-Digest"]) == (200, digest)

    podman.run("rmi", local_name(repo_name, "1.0"))
    assert (
        podman.run("image", "exists", image.id.removeprefix("sha256:"), check=False).returncode == 1
    )
    result = podman.run("pull", TLS, ref)
    assert result.stdout == f"{image.id.removeprefix('sha256:')}\n"  # the config we made
    assert f"Trying to pull {ref}...\n" in result.stderr
    assert podman.run("image", "inspect", "--format", "{{.Digest}}", ref).stdout == f"{digest}\n"

    podman.run("rmi", ref)
    result = podman.run("pull", TLS, f"{host}/{repo_name}@{digest}")
    assert result.stdout == f"{image.id.removeprefix('sha256:')}\n"
    podman.run("rmi", f"{host}/{repo_name}@{digest}")


def test_manifest_list_push_all(podman, live_registry, live_credentials, repo_name, tmp_path):
    host = live_registry.host
    images = {"native": make_image("list", HOST_ARCH), "foreign": make_image("list", OTHER_ARCH)}
    load(podman, tmp_path, repo_name, images)
    logged_in(podman.login(host, *live_credentials))

    ref = f"{host}/{repo_name}:multi"
    podman.run("manifest", "create", ref)
    for tag in images:
        podman.run("manifest", "add", ref, f"containers-storage:{local_name(repo_name, tag)}")
    digest = push(podman, tmp_path, ref, f"docker://{ref}", "manifest", "push", "--all")
    assert "Copying 2 of 2 images in list\n" in podman.transcript[-1]

    served = live_http.get(
        f"{live_registry.url}/v2/{repo_name}/manifests/multi",
        headers={"Accept": f"{DOCKER_LIST}, {OCI_INDEX}"},
        timeout=10,
    )
    assert served.status_code == 200
    # podman 4.3 writes the list as an OCI index of the Docker schema 2 manifests it pushed.
    assert (served.headers["Content-Type"], served.headers["Docker-Content-Digest"]) == (
        OCI_INDEX,
        digest,
    )
    assert served.json()["mediaType"] == OCI_INDEX
    children = served.json()["manifests"]
    assert [(c["mediaType"], c["platform"]) for c in children] == [
        (DOCKER_MANIFEST, {"architecture": HOST_ARCH, "os": "linux"}),
        (DOCKER_MANIFEST, {"architecture": OTHER_ARCH, "os": "linux"}),
    ]
    for child, image in zip(children, images.values(), strict=True):
        manifest = live_http.get(
            f"{live_registry.url}/v2/{repo_name}/manifests/{child['digest']}",
            headers={"Accept": DOCKER_MANIFEST},
            timeout=10,
        )
        assert manifest.status_code == 200
        assert manifest.json()["config"]["digest"] == image.id

    # Pulled back for the other platform by a fresh name (the local list keeps `ref`).
    podman.run("manifest", "rm", ref)
    result = podman.run("pull", TLS, "--arch", OTHER_ARCH, ref)
    assert result.stdout == f"{images['foreign'].id.removeprefix('sha256:')}\n"
    arch = podman.run("image", "inspect", "--format", "{{.Architecture}}", ref).stdout
    assert arch == f"{OTHER_ARCH}\n"
    podman.run("rmi", ref)


def test_customer_pull_token_follows_the_license(
    podman, live_registry, live_credentials, repo_name, customer, tmp_path
):
    host = live_registry.host
    images = {tag: make_image(f"podman {tag}") for tag in ("1.0", "2.0")}
    load(podman, tmp_path, repo_name, images)
    logged_in(podman.login(host, *live_credentials))
    for tag in images:
        push(podman, tmp_path, local_name(repo_name, tag), f"{host}/{repo_name}:{tag}", "push")
        podman.run("rmi", local_name(repo_name, tag))
    assert podman.run("logout", host).stdout == f"Removed login credentials for {host}\n"

    # License and token after the push (see the report on per-worker caches).
    license_grant(customer, repo_name, "glob:1.*", name="Support 1.x")
    secret = token_mint(vendor=customer.vendor, customer=customer, kind="pull", name="pc").secret
    logged_in(podman.login(host, "globex", secret))

    result = podman.run("pull", TLS, f"{host}/{repo_name}:1.0")
    assert result.stdout == f"{images['1.0'].id.removeprefix('sha256:')}\n"

    result = podman.run("pull", TLS, f"{host}/{repo_name}:2.0", check=False)
    assert result.returncode == 125
    assert result.stdout == ""
    assert result.stderr.splitlines()[-1] == (
        f"Error: initializing source docker://{host}/{repo_name}:2.0: reading manifest 2.0 in "
        f"{host}/{repo_name}: denied: tag '2.0' of {repo_name} is not covered by your license"
    )
    assert (
        podman.run(
            "image", "exists", images["2.0"].id.removeprefix("sha256:"), check=False
        ).returncode
        == 1
    )
    podman.run("rmi", f"{host}/{repo_name}:1.0")
