"""The real Docker engine (dockerd + docker CLI, session-scoped daemon) against distr under
gunicorn: login, load, push with cross-repository mount, pull by tag, digest and platform,
logout, and a customer's pull token meeting its license. Every docker command's output is
checked for docker's non-conformance warning (the `docker` fixture)."""

import json
import re

from customers.services import token_mint
from tests.clients.conftest import (
    HOST_ARCH,
    OTHER_ARCH,
    make_image,
    push_index,
    write_docker_archive,
)
from tests.conftest import license_grant
from tests.support.server import live_http


def load(docker, tmp_path, tagged: dict) -> None:
    archive = write_docker_archive(tmp_path / "images.tar", tagged)
    out = docker.run("load", "-i", str(archive)).stdout
    assert sorted(re.findall(r"^Loaded image: (\S+)$", out, re.M)) == sorted(tagged)


def local_name(repo_name: str, tag: str) -> str:
    """A local tag of the session's engine that no other test uses."""
    return f"local/{repo_name.split('/')[-1]}:{tag}"


def pushed_digest(output: str, tag: str) -> str:
    pattern = rf"^{re.escape(tag)}: digest: (sha256:[0-9a-f]{{64}}) size: \d+$"
    (match,) = re.findall(pattern, output, re.M)
    return match


def inspect(docker, reference: str) -> dict:
    (info,) = json.loads(docker.run("image", "inspect", reference).stdout)
    return info


def assert_absent(docker, reference: str) -> None:
    result = docker.run("image", "inspect", reference, check=False)
    assert result.returncode == 1, result.stdout


def push(docker, host: str, repo_name: str, tag: str) -> str:
    docker.run("tag", local_name(repo_name, tag), f"{host}/{repo_name}:{tag}")
    return pushed_digest(docker.run("push", f"{host}/{repo_name}:{tag}").stdout, tag)


def pulls(registry_log, path: str) -> list[str]:
    """The GET and HEAD requests docker made for `path`, sorted (the two gunicorn workers
    append to the log in their own order)."""
    lines = registry_log.lines("docker/", path)
    return sorted(line for line in lines if line.split()[0] in ("GET", "HEAD"))


def logged_in(result) -> None:
    assert "Login Succeeded" in result.stdout.splitlines(), result.stdout + result.stderr


def test_login_push_mount_and_pull_by_tag_and_digest(
    docker, live_registry, live_credentials, repo_name, registry_log, tmp_path
):
    host = live_registry.host
    image = make_image("app 1.0")
    load(docker, tmp_path, {local_name(repo_name, "1.0"): image})

    logged_in(docker.login(host, *live_credentials))
    # docker login: the daemon checks the credentials with a Basic GET of the token endpoint
    # (the request log names the token that asked).
    prefix = live_credentials[1][:19]  # distr_push_ + 8: the token's visible prefix
    assert sorted(registry_log.lines("docker/")) == [
        "GET /v2/ 200 token:" + prefix,
        "GET /v2/ 401 anonymous",
        "GET /v2/token 200 token:" + prefix,
    ]

    docker.run("tag", local_name(repo_name, "1.0"), f"{host}/{repo_name}:1.0")
    out = docker.run("push", f"{host}/{repo_name}:1.0").stdout
    assert f"The push refers to repository [{host}/{repo_name}]" in out
    assert re.search(r"^[0-9a-f]{12}: Pushed$", out, re.M), out
    digest = pushed_digest(out, "1.0")
    # Pushing, the daemon asks for its tokens with the OAuth2 POST form (grant_type=password).
    token_requests = [line for line in registry_log.lines("docker/") if "/v2/token " in line]
    assert token_requests.count(f"GET /v2/token 200 token:{prefix}") == 1  # the login's
    assert token_requests.count(f"POST /v2/token 200 token:{prefix}") == len(token_requests) - 1 > 0
    served = live_http.head(f"{live_registry.url}/v2/{repo_name}/manifests/1.0", timeout=10)
    assert (served.status_code, served.headers["Docker-Content-Digest"]) == (200, digest)

    # The same image into another repository: docker mounts the layer instead of uploading.
    other = f"{repo_name}-other"
    docker.run("tag", local_name(repo_name, "1.0"), f"{host}/{other}:7")
    out = docker.run("push", f"{host}/{other}:7").stdout
    assert re.search(rf"^[0-9a-f]{{12}}: Mounted from {re.escape(repo_name)}$", out, re.M), out
    assert "Pushed" not in out
    assert pushed_digest(out, "7") == digest

    # Gone locally, then pulled back by tag and by digest.
    docker.run("rmi", f"{host}/{repo_name}:1.0", f"{host}/{other}:7", local_name(repo_name, "1.0"))
    assert_absent(docker, image.id)
    out = docker.run("pull", f"{host}/{repo_name}:1.0").stdout
    assert re.search(r"^[0-9a-f]{12}: Pull complete$", out, re.M), out
    assert f"Digest: {digest}\n" in out
    assert f"Status: Downloaded newer image for {host}/{repo_name}:1.0\n" in out
    info = inspect(docker, f"{host}/{repo_name}:1.0")
    assert info["Id"] == image.id  # the config blob we made, byte for byte
    assert info["RepoDigests"] == [f"{host}/{repo_name}@{digest}"]

    docker.run("rmi", f"{host}/{repo_name}:1.0")
    assert_absent(docker, image.id)
    out = docker.run("pull", f"{host}/{repo_name}@{digest}").stdout
    assert re.search(r"^[0-9a-f]{12}: Pull complete$", out, re.M), out
    assert f"Status: Downloaded newer image for {host}/{repo_name}@{digest}\n" in out
    assert inspect(docker, f"{host}/{repo_name}@{digest}")["Id"] == image.id


def test_multi_platform_pull_picks_the_platform(docker, live_registry, live_credentials, repo_name):
    host = live_registry.host
    native, foreign = make_image("multi", HOST_ARCH), make_image("multi", OTHER_ARCH)
    index = push_index(live_registry, repo_name, "multi", [native, foreign])
    ref = f"{host}/{repo_name}:multi"
    logged_in(docker.login(host, *live_credentials))

    out = docker.run("pull", ref).stdout
    assert f"Digest: {index['digest']}\n" in out
    assert f"Status: Downloaded newer image for {ref}\n" in out
    info = inspect(docker, ref)
    assert (info["Id"], info["Architecture"], info["Os"]) == (native.id, HOST_ARCH, "linux")
    assert info["RepoDigests"] == [f"{host}/{repo_name}@{index['digest']}"]

    docker.run("rmi", ref)
    out = docker.run("pull", "--platform", f"linux/{OTHER_ARCH}", ref).stdout
    assert f"Status: Downloaded newer image for {ref}\n" in out
    info = inspect(docker, ref)
    assert (info["Id"], info["Architecture"], info["Os"]) == (foreign.id, OTHER_ARCH, "linux")
    docker.run("rmi", ref)


def test_logout_then_a_private_pull_is_refused(
    docker, live_registry, live_credentials, repo_name, registry_log, tmp_path
):
    host = live_registry.host
    load(docker, tmp_path, {local_name(repo_name, "1.0"): make_image("private")})
    logged_in(docker.login(host, *live_credentials))
    push(docker, host, repo_name, "1.0")
    docker.run("rmi", f"{host}/{repo_name}:1.0", local_name(repo_name, "1.0"))

    out = docker.run("logout", host).stdout
    assert out == f"Removing login credentials for {host}\n"
    assert json.loads((docker.config_dir / "config.json").read_text())["auths"] == {}

    result = docker.run("pull", f"{host}/{repo_name}:1.0", check=False)
    assert result.returncode == 1
    assert result.stderr == (
        f"Error response from daemon: pull access denied for {host}/{repo_name}, repository "
        "does not exist or may require 'docker login': denied: requested access to the "
        "resource is denied\n"
    )
    manifest = f"/v2/{repo_name}/manifests/1.0"
    assert pulls(registry_log, manifest) == [
        f"GET {manifest} 401 anonymous",
        f"HEAD {manifest} 401 anonymous",
    ]


def test_customer_pull_token_follows_the_license(
    docker, live_registry, live_credentials, repo_name, customer, registry_log, tmp_path
):
    host = live_registry.host
    images = {tag: make_image(f"app {tag}") for tag in ("1.0", "2.0")}
    load(docker, tmp_path, {local_name(repo_name, tag): image for tag, image in images.items()})
    logged_in(docker.login(host, *live_credentials))
    digests = {tag: push(docker, host, repo_name, tag) for tag in images}
    for tag in images:
        docker.run("rmi", f"{host}/{repo_name}:{tag}", local_name(repo_name, tag))
    docker.run("logout", host)

    # License and token after the push (see the report on per-worker caches).
    license_grant(customer, repo_name, "glob:1.*", name="Support 1.x")
    secret = token_mint(vendor=customer.vendor, customer=customer, kind="pull", name="ci").secret
    logged_in(docker.login(host, "globex", secret))

    out = docker.run("pull", f"{host}/{repo_name}:1.0").stdout
    assert re.search(r"^[0-9a-f]{12}: Pull complete$", out, re.M), out
    assert f"Digest: {digests['1.0']}\n" in out
    assert inspect(docker, f"{host}/{repo_name}:1.0")["Id"] == images["1.0"].id

    result = docker.run("pull", f"{host}/{repo_name}:2.0", check=False)
    assert result.returncode == 1
    assert result.stderr == (
        f"Error response from daemon: pull access denied for {host}/{repo_name}, repository "
        f"does not exist or may require 'docker login': denied: tag '2.0' of {repo_name} is "
        "not covered by your license\n"
    )
    assert_absent(docker, images["2.0"].id)
    manifest = f"/v2/{repo_name}/manifests/2.0"
    seen = pulls(registry_log, manifest)
    prefix = secret[:19]
    assert seen == [f"GET {manifest} 403 token:{prefix}", f"HEAD {manifest} 403 token:{prefix}"]
    docker.run("rmi", f"{host}/{repo_name}:1.0")
