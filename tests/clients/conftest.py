"""Real container clients (Docker engine, containerd through the CRI, podman) against the
live registry.

Each daemon starts once per session. A missing client skips locally with its reason and
fails under CI (`CI=true`), where .ci/run installs them all (tests/support/requirements.py).
Images are made here in Python, since nothing can be pulled from the internet: real tar
layers (the engines unpack them), written as a docker-archive for `docker load` / `podman
load` or pushed over plain HTTP as OCI images and indexes for the pull-only clients.
"""

import gzip
import hashlib
import io
import json
import os
import platform
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.registry_client import OCI_CONFIG, OCI_INDEX, OCI_LAYER, OCI_MANIFEST
from tests.support.requirements import require_command
from tests.support.server import live_http

# The architecture the engines pull for by default.
HOST_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
OTHER_ARCH = "arm64" if HOST_ARCH != "arm64" else "amd64"

# docker prints this when a registry answers something it does not expect.
NONCONFORMANCE = "does not appear to conform to the distribution registry specification"


def sha256(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


@dataclass
class Image:
    """A one-layer Linux image: the layer is an uncompressed tar holding /label."""

    label: str
    arch: str
    layer: bytes
    config: bytes

    @property
    def id(self) -> str:  # what `docker image inspect` calls Id: the config digest
        return sha256(self.config)


def make_image(label: str, arch: str = HOST_ARCH) -> Image:
    """Deterministic for a label and architecture; random bytes make each call unique."""
    content = f"{label} {os.urandom(8).hex()}\n".encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("label")
        info.size, info.mode, info.mtime = len(content), 0o644, 0
        tar.addfile(info, io.BytesIO(content))
    layer = buffer.getvalue()
    config = {
        "architecture": arch,
        "os": "linux",
        "config": {"Cmd": ["/label"], "Labels": {"label": label}},
        "rootfs": {"type": "layers", "diff_ids": [sha256(layer)]},
        "history": [{"created_by": f"tests/clients {label}"}],
    }
    return Image(label=label, arch=arch, layer=layer, config=json.dumps(config).encode())


def write_docker_archive(path: Path, tagged: dict[str, Image]) -> Path:
    """`docker save` format ({tag: image}): manifest.json, <config>.json, <id>/layer.tar."""
    entries = []
    with tarfile.open(path, "w") as tar:

        def add(name: str, data: bytes) -> None:
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))

        for tag, image in tagged.items():
            config_name = f"{image.id.removeprefix('sha256:')}.json"
            layer_name = f"{sha256(image.layer).removeprefix('sha256:')}/layer.tar"
            add(config_name, image.config)
            add(layer_name, image.layer)
            entries.append({"Config": config_name, "RepoTags": [tag], "Layers": [layer_name]})
        add("manifest.json", json.dumps(entries).encode())
    return path


# --- pushing over plain HTTP (the push token from `live_credentials`) -------------------


def push_blob(live, repo: str, data: bytes) -> dict:
    digest = sha256(data)
    response = live_http.post(
        f"{live.url}/v2/{repo}/blobs/uploads/?digest={digest}",
        data=data,
        headers={"Content-Type": "application/octet-stream"},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return {"digest": digest, "size": len(data)}


def put_manifest(live, repo: str, reference: str, manifest: dict, media_type: str) -> dict:
    raw = json.dumps(manifest).encode()
    response = live_http.put(
        f"{live.url}/v2/{repo}/manifests/{reference}",
        data=raw,
        headers={"Content-Type": media_type},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    assert response.headers["Docker-Content-Digest"] == sha256(raw)
    return {"mediaType": media_type, "digest": sha256(raw), "size": len(raw)}


def image_manifest(live, repo: str, image: Image) -> dict:
    """Push the layer (gzipped, fixed mtime) and config of `image`; its OCI manifest."""
    layer = push_blob(live, repo, gzip.compress(image.layer, mtime=0))
    config = push_blob(live, repo, image.config)
    return {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, **config},
        "layers": [{"mediaType": OCI_LAYER, **layer}],
    }


def push_image(live, repo: str, tag: str, image: Image) -> dict:
    """`image` as an OCI image manifest tagged `tag`; its descriptor."""
    return put_manifest(live, repo, tag, image_manifest(live, repo, image), OCI_MANIFEST)


def push_index(live, repo: str, tag: str, images: list[Image]) -> dict:
    """An OCI image index over `images` (children pushed by digest); its descriptor."""
    children = []
    for image in images:
        manifest = image_manifest(live, repo, image)
        child = put_manifest(
            live, repo, sha256(json.dumps(manifest).encode()), manifest, OCI_MANIFEST
        )
        children.append({**child, "platform": {"architecture": image.arch, "os": "linux"}})
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": children}
    return put_manifest(live, repo, tag, index, OCI_INDEX)


# --- the Docker engine -------------------------------------------------------------------


@pytest.fixture(scope="session")
def docker_engine(live_registry):
    from tests.support.docker_engine import DockerEngine

    engine = DockerEngine(require_command("dockerd"), require_command("docker"), live_registry.host)
    yield engine
    engine.stop()


@pytest.fixture
def docker(docker_engine, tmp_path):
    """The docker CLI on the session's engine, logged in nowhere; it fails the test on
    docker's non-conformance warning in any output."""
    from tests.support.docker_engine import DockerCLI

    return DockerCLI(docker_engine, tmp_path / "docker-config", forbidden=(NONCONFORMANCE,))


# --- what the registry saw ----------------------------------------------------------------


class RegistryLog:
    """The live registry's JSON request log (distr.request) from the start of a test."""

    def __init__(self, live):
        self.path = live.log_path
        self.start = self.path.stat().st_size

    def _settle(self, quiet: float = 0.3, timeout: float = 5) -> None:
        """Wait until the log stops growing: a worker may write a request's line after the
        client already has the response."""
        deadline, size, since = time.monotonic() + timeout, -1, time.monotonic()
        while time.monotonic() < deadline:
            now = self.path.stat().st_size
            if now != size:
                size, since = now, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return
            time.sleep(0.05)

    def requests(self) -> list[dict]:
        self._settle()
        with open(self.path, "rb") as handle:
            handle.seek(self.start)
            lines = handle.read().decode(errors="replace").splitlines()
        entries = [json.loads(line) for line in lines if line.startswith("{")]
        return [entry for entry in entries if entry.get("logger") == "distr.request"]

    def lines(self, agent_prefix: str = "", path: str | None = None) -> list[str]:
        """`METHOD PATH STATUS PRINCIPAL` for each request whose User-Agent starts so (and
        whose path is `path`), in the order the workers wrote them."""
        return [
            f"{e['method']} {e['path']} {e['status']} {e['principal_id'] or 'anonymous'}"
            for e in self.requests()
            if (e.get("user_agent") or "").startswith(agent_prefix)
            and (path is None or e["path"] == path)
        ]


@pytest.fixture
def registry_log(live_registry) -> RegistryLog:
    return RegistryLog(live_registry)


# --- containerd ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def containerd(live_registry):
    from tests.support.containerd import Containerd

    daemon = Containerd(require_command("containerd"), require_command("ctr"), live_registry.host)
    yield daemon
    daemon.stop()


# --- podman ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def podman_storage(live_registry):
    from tests.support.podman import Podman

    podman = Podman(require_command("podman"))
    yield podman
    podman.stop()


@pytest.fixture
def podman(podman_storage, tmp_path):
    """podman on the session's storage with this test's own auth file (no logins yet)."""
    from tests.support.podman import PodmanCLI

    return PodmanCLI(podman_storage, tmp_path / "auth.json")
