"""Air-gap kits with the real clients: a full kit of two repositories (a multi-platform
image with a signature referrer, a Helm chart) for a customer licensed for part of them,
downloaded with curl (interrupted half way and resumed with `curl -C -`), then
`docker load -i` on the real engine, `skopeo copy oci-archive:` of one reference, and
`import.sh` into a second distr standing in for the customer's registry; then a delta
after a new release, into that registry (same digests) and into an empty one (refused
with the documented message)."""

import json
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest
import requests
from django.conf import settings

from airgap.services import kit_create
from customers.services import token_mint
from tests.clients.conftest import (
    HOST_ARCH,
    OTHER_ARCH,
    make_image,
    push_blob,
    push_image,
    push_index,
    put_manifest,
    sha256,
)
from tests.conftest import license_grant
from tests.support.registry_client import OCI_MANIFEST
from tests.support.requirements import require_command
from tests.support.server import ROOT, LiveRegistry
from tests.support.skopeo import skopeo

HELM_CONFIG = "application/vnd.cncf.helm.config.v1+json"
HELM_CHART = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
SIG = "application/vnd.example.sig"


class Mirror:
    """A second distr (its own SQLite database and storage, no Redis) holding vendors
    `acme` and `fresh`, each with a push token: the customer's own registry."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="distr-mirror-"))
        self.env = {
            "DATA_DIR": str(self.dir),
            "DATABASE_URL": f"sqlite:///{self.dir}/db.sqlite3",
            "REDIS_URL": "",
        }
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", **self.env}

        def manage(*args):
            return subprocess.run(
                [sys.executable, "manage.py", *args],
                cwd=ROOT, env=env, capture_output=True, text=True, check=True, timeout=300,
            ).stdout  # fmt: skip

        manage("migrate", "-v0")
        self.secrets = {}
        for slug in ("acme", "fresh"):
            manage("createvendor", slug)
            self.secrets[slug] = manage(
                "createtoken", "--vendor", slug, "--kind", "push", "--name", "mirror"
            ).strip()
        self.server = LiveRegistry(extra_env=self.env)

    def manifest(self, slug: str, reference: str) -> requests.Response:
        repository, _, ref = reference.rpartition(":") if "@" not in reference else (
            reference.partition("@")[0], "", reference.partition("@")[2])  # fmt: skip
        return requests.get(
            f"{self.server.url}/v2/{repository}/manifests/{ref}",
            auth=("ci", self.secrets[slug]),
            headers={"Accept": "application/vnd.oci.image.index.v1+json, " + OCI_MANIFEST},
            timeout=30,
        )

    def stop(self):
        self.server.stop()


@pytest.fixture(scope="module")
def mirror(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        server = Mirror()
    yield server
    server.stop()


@pytest.fixture
def released(live_registry, customer):
    """acme/<app> 1.0 (amd64 + arm64 index, signed) and 2.0; acme/<app>-chart 0.1.0.
    globex holds `glob:1.*` on the app and everything of the chart."""
    app = f"acme/kit{uuid.uuid4().hex[:10]}"
    chart = f"{app}-chart"
    index = push_index(
        live_registry, app, "1.0", [make_image("one", HOST_ARCH), make_image("one", OTHER_ARCH)]
    )
    empty = push_blob(live_registry, app, b"{}")
    payload = push_blob(live_registry, app, b"signature of " + index["digest"].encode())
    signature = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": SIG,
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", **empty},
        "layers": [{"mediaType": "application/octet-stream", **payload}],
        "subject": index,
    }
    raw = json.dumps(signature).encode()

    sig = put_manifest(live_registry, app, sha256(raw), signature, OCI_MANIFEST)
    two = push_image(live_registry, app, "2.0", make_image("two"))
    config = push_blob(
        live_registry, chart, json.dumps({"name": "demo", "version": "0.1.0"}).encode()
    )
    tgz = push_blob(live_registry, chart, b"\x1f\x8b" + os.urandom(300))
    helm = put_manifest(
        live_registry, chart, "0.1.0",
        {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
         "config": {"mediaType": HELM_CONFIG, **config},
         "layers": [{"mediaType": HELM_CHART, **tgz}]},
        OCI_MANIFEST,
    )  # fmt: skip
    license_grant(customer, app, "glob:1.*", name="App 1.x")
    license_grant(customer, chart, "glob:*", name="Charts")
    return {"app": app, "chart": chart, "index": index, "sig": sig, "two": two, "helm": helm}


def download(live_registry, vendor, kit, path: Path) -> None:
    """Half the kit, then `curl -C -` resumes from the file's size."""
    secret = token_mint(vendor=vendor, kind="api", name=f"k{uuid.uuid4().hex[:6]}",
                        scopes=["read"]).secret  # fmt: skip
    url = f"{live_registry.url}/api/v1/kits/{kit.pk}/download"
    curl = [require_command("curl"), "-sS", "-f", "-H", f"Authorization: Bearer {secret}"]
    subprocess.run([*curl, "-r", f"0-{kit.total_size // 2}", "-o", str(path), url], check=True)
    assert path.stat().st_size == kit.total_size // 2 + 1
    subprocess.run([*curl, "-C", "-", "-o", str(path), url], check=True, timeout=300)
    assert path.stat().st_size == kit.total_size


def import_sh(
    kit_path: Path, mirror: Mirror, slug: str, workdir: Path
) -> subprocess.CompletedProcess:
    subprocess.run(["tar", "-xf", kit_path, "-C", workdir.parent, "import.sh"], check=True)
    home = tempfile.mkdtemp(prefix="kit-skopeo-")
    policy = Path(home) / "policy.json"
    policy.write_text(json.dumps({"default": [{"type": "insecureAcceptAnything"}]}))
    prefix = "" if slug == "acme" else f"/{slug}"
    return subprocess.run(
        ["sh", str(workdir.parent / "import.sh"), str(kit_path), mirror.server.host + prefix,
         "--dest-tls-verify=false", "--dest-creds", f"ci:{mirror.secrets[slug]}"],
        env={**os.environ, "HOME": home, "KIT_WORKDIR": str(workdir),
             "SKOPEO": f"{require_command('skopeo')} --policy {policy}"},
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def test_full_kit_docker_load_skopeo_and_import_then_a_delta(
    live_registry, mirror, released, vendor, customer, docker, client, tmp_path
):
    app, chart = released["app"], released["chart"]
    registry = settings.REGISTRY_SERVICE
    kit = kit_create(customer=customer)
    assert [i["reference"] for i in kit.images] == [
        f"{registry}/{app}:1.0", f"{registry}/{chart}:0.1.0",
    ]  # fmt: skip
    kit_path = tmp_path / "kit.tar"
    download(live_registry, vendor, kit, kit_path)

    # docker load: the amd64 image of 1.0 with its tag; the chart is not an image.
    loaded = docker.run("load", "-i", str(kit_path))
    assert f"Loaded image: {registry}/{app}:1.0" in loaded.stdout
    inspected = json.loads(docker.run("image", "inspect", f"{registry}/{app}:1.0").stdout)
    assert inspected[0]["Architecture"] == HOST_ARCH

    # skopeo copy oci-archive: of one reference, into the customer's registry.
    copied = f"{mirror.server.host}/acme/copied:0.1.0"
    skopeo("copy", "--preserve-digests", "--dest-tls-verify=false",
           f"oci-archive:{kit_path}:{registry}/{chart}:0.1.0", f"docker://{copied}",
           auth={mirror.server.host: ("ci", mirror.secrets["acme"])})  # fmt: skip
    assert (
        mirror.manifest("acme", "acme/copied:0.1.0").headers["Docker-Content-Digest"]
        == (released["helm"]["digest"])
    )

    # import.sh: every reference, digests and bytes as at the vendor, referrers included.
    result = import_sh(kit_path, mirror, "acme", tmp_path / "work-full")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "import.sh: SHA256SUMS verified" in result.stdout
    assert f"import.sh: imported 3 references of kit {kit.pk}" in result.stdout
    vendor_index = client.get(f"/v2/{app}/manifests/1.0",
                              HTTP_ACCEPT="application/vnd.oci.image.index.v1+json")  # fmt: skip
    mirrored = mirror.manifest("acme", f"{app}:1.0")
    assert mirrored.headers["Docker-Content-Digest"] == released["index"]["digest"]
    assert mirrored.content == vendor_index.content
    for child in json.loads(mirrored.content)["manifests"]:
        assert mirror.manifest("acme", f"{app}@{child['digest']}").status_code == 200
    referrers = requests.get(
        f"{mirror.server.url}/v2/{app}/referrers/{released['index']['digest']}",
        auth=("ci", mirror.secrets["acme"]), timeout=30,
    ).json()  # fmt: skip
    assert [r["digest"] for r in referrers["manifests"]] == [released["sig"]["digest"]]
    assert mirror.manifest("acme", f"{app}:2.0").status_code == 404  # never in the kit

    # A new release, and a delta since the full kit: only the new blobs travel.
    new = push_index(live_registry, app, "1.1", [make_image("new", HOST_ARCH)])
    delta = kit_create(customer=customer, since=kit)
    held = {b["digest"] for b in delta.blobs}
    assert not held & {b["digest"] for b in kit.blobs} - set(_configs(delta))
    delta_path = tmp_path / "delta.tar"
    download(live_registry, vendor, delta, delta_path)
    result = import_sh(delta_path, mirror, "acme", tmp_path / "work-delta")
    assert result.returncode == 0, result.stdout + result.stderr
    assert mirror.manifest("acme", f"{app}:1.1").headers["Docker-Content-Digest"] == new["digest"]
    assert (
        mirror.manifest("acme", f"{app}:1.0").headers["Docker-Content-Digest"]
        == (released["index"]["digest"])
    )
    # Into an empty registry (the `fresh` namespace holds nothing): refused, clearly.
    result = import_sh(delta_path, mirror, "fresh", tmp_path / "work-empty")
    assert result.returncode == 3, result.stdout + result.stderr
    assert f"lacks blobs this delta kit leaves out: import kit {kit.pk} first" in result.stderr


def _configs(kit) -> list[str]:
    from airgap.models import KitFile

    found = []
    for file in KitFile.objects.filter(kit=kit, name__startswith="blobs/"):
        body = json.loads(bytes(file.content))
        if "config" in body:
            found.append(body["config"]["digest"])
    return found


def test_a_kit_filtered_to_one_platform_keeps_the_index_and_loads_and_imports(
    live_registry, mirror, vendor, customer, docker, client, tmp_path
):
    """Two platforms, filtered to the host's: the index travels byte for byte (its digest
    still names it), only the host platform's manifest and blobs come along; docker load,
    skopeo copy oci-archive: and import.sh all work on the result."""
    app = f"acme/plat{uuid.uuid4().hex[:10]}"
    host, other = make_image("host", HOST_ARCH), make_image("other", OTHER_ARCH)
    index = push_index(live_registry, app, "1.0", [host, other])
    license_grant(customer, app, "glob:*", name="Platforms")
    registry = settings.REGISTRY_SERVICE
    kit = kit_create(customer=customer, platforms=[f"linux/{HOST_ARCH}"])
    image = next(i for i in kit.images if i["repository"] == app)
    assert image["platforms"] == [f"linux/{HOST_ARCH}"]
    assert image["platforms_left_out"] == [f"linux/{OTHER_ARCH}"]
    kit_path = tmp_path / "kit.tar"
    download(live_registry, vendor, kit, kit_path)

    import tarfile

    with tarfile.open(kit_path) as archive:
        names = set(archive.getnames())
        kit_json = json.load(archive.extractfile("kit.json"))
        raw_index = archive.extractfile(f"blobs/sha256/{index['digest'][7:]}").read()
    vendor_index = client.get(f"/v2/{app}/manifests/1.0",
                              HTTP_ACCEPT="application/vnd.oci.image.index.v1+json")  # fmt: skip
    assert raw_index == vendor_index.content  # byte-identical: @sha256: of the index holds
    children = {c["platform"]["architecture"]: c["digest"]
                for c in json.loads(raw_index)["manifests"]}  # fmt: skip
    assert f"blobs/sha256/{children[HOST_ARCH][7:]}" in names
    assert f"blobs/sha256/{children[OTHER_ARCH][7:]}" not in names
    for arch, present in ((HOST_ARCH, True), (OTHER_ARCH, False)):
        child = client.get(f"/v2/{app}/manifests/{children[arch]}", HTTP_ACCEPT=OCI_MANIFEST)
        body = json.loads(child.content)
        for blob in [body["config"], *body["layers"]]:
            assert (f"blobs/sha256/{blob['digest'][7:]}" in names) is present, (arch, blob)
    entry = next(i for i in kit_json["images"] if i["repository"] == app)
    assert (entry["platforms"], entry["platformsLeftOut"]) == (
        [f"linux/{HOST_ARCH}"], [f"linux/{OTHER_ARCH}"],
    )  # fmt: skip

    loaded = docker.run("load", "-i", str(kit_path))
    assert f"Loaded image: {registry}/{app}:1.0" in loaded.stdout
    inspected = json.loads(docker.run("image", "inspect", f"{registry}/{app}:1.0").stdout)
    assert (inspected[0]["Architecture"], inspected[0]["Id"]) == (HOST_ARCH, host.id)

    copied = f"{mirror.server.host}/acme/platcopy:1.0"
    skopeo("copy", "--preserve-digests", "--dest-tls-verify=false",
           f"oci-archive:{kit_path}:{registry}/{app}:1.0", f"docker://{copied}",
           auth={mirror.server.host: ("ci", mirror.secrets["acme"])})  # fmt: skip
    assert (
        mirror.manifest("acme", "acme/platcopy:1.0").headers["Docker-Content-Digest"]
        == children[HOST_ARCH]
    )

    result = import_sh(kit_path, mirror, "acme", tmp_path / "work")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{registry}/{app}:1.0 was filtered to platforms linux/{HOST_ARCH}=" in result.stdout
    mirrored = mirror.manifest("acme", f"{app}:1.0")
    assert mirrored.status_code == 200
    assert mirrored.headers["Docker-Content-Digest"] == children[HOST_ARCH]
    assert mirror.manifest("acme", f"{app}@{children[OTHER_ARCH]}").status_code == 404
