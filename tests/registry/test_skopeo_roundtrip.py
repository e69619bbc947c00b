"""skopeo (a real OCI client) pushing to and pulling from distr under gunicorn.

Images are OCI layouts of random bytes (tests/support/oci_layout.py). With
`--preserve-digests` skopeo copies every blob unchanged, so a push followed by a pull into
a fresh `oci:` layout must give back exactly the same files, byte for byte.
"""

import gzip
import hashlib
import json
from pathlib import Path

import pytest
import requests

from tests.support.oci_layout import OCI_INDEX, OCI_MANIFEST, Layout, image_layout, index_layout
from tests.support.server import live_http
from tests.support.skopeo import skopeo

pytestmark = pytest.mark.requires_command("skopeo")

KIB = 1024
MIB = 1024 * KIB
LAYER_SIZES = [3 * MIB + 17, 64 * KIB + 1, 1]  # one of a few MB, one small, one of a byte
INDEX_LAYER_SIZES = [256 * KIB + 5, 7 * KIB]


def sha256(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def docker_ref(live, repo: str, tag: str) -> str:
    return f"docker://{live.host}/{repo}:{tag}"


def push(layout: Layout, live, repo: str, tag: str, *flags: str) -> None:
    skopeo("copy", "--dest-tls-verify=false", *flags, layout.ref, docker_ref(live, repo, tag))


def pull(live, repo: str, tag: str, dest: Path, *flags: str) -> Path:
    skopeo(
        "copy", "--src-tls-verify=false", *flags, docker_ref(live, repo, tag), f"oci:{dest}:{tag}"
    )
    return dest


def layout_blobs(root: Path) -> dict[str, bytes]:
    """Every blob file of an OCI layout, by digest (the file name)."""
    return {f"sha256:{p.name}": p.read_bytes() for p in (root / "blobs" / "sha256").iterdir()}


def layout_top(root: Path, tag: str) -> dict:
    """The index.json descriptor of an OCI layout for `tag`."""
    index = json.loads((root / "index.json").read_text())
    (entry,) = [
        m
        for m in index["manifests"]
        if m["annotations"]["org.opencontainers.image.ref.name"] == tag
    ]
    return entry


def inspect_raw(live, repo: str, tag: str) -> bytes:
    result = skopeo("inspect", "--tls-verify=false", "--raw", docker_ref(live, repo, tag))
    return result.stdout.encode()


def get_manifest(live, repo: str, reference: str, accept: str) -> requests.Response:
    response = live_http.get(
        f"{live.url}/v2/{repo}/manifests/{reference}", headers={"Accept": accept}, timeout=30
    )
    assert response.status_code == 200, response.text
    return response


def test_multi_layer_image_round_trips_byte_for_byte(live_registry, repo_name, tmp_path):
    source = image_layout(tmp_path / "src", LAYER_SIZES)
    source_manifest = source.blobs[source.top_digest].read_bytes()

    push(source, live_registry, repo_name, "v1", "--preserve-digests")

    assert inspect_raw(live_registry, repo_name, "v1") == source_manifest
    served = get_manifest(live_registry, repo_name, "v1", OCI_MANIFEST)
    assert served.content == source_manifest
    assert served.headers["Docker-Content-Digest"] == source.top_digest
    assert served.headers["Content-Type"] == OCI_MANIFEST

    back = pull(live_registry, repo_name, "v1", tmp_path / "back", "--preserve-digests")
    top = layout_top(back, "v1")
    assert (top["mediaType"], top["digest"], top["size"]) == (
        OCI_MANIFEST,
        source.top_digest,
        len(source_manifest),
    )
    # Manifest, config and all three layers, and nothing else.
    source_blobs = layout_blobs(source.path)
    assert len(source_blobs) == 5
    assert layout_blobs(back) == source_blobs


def test_multi_platform_index_round_trips_byte_for_byte(live_registry, repo_name, tmp_path):
    source = index_layout(tmp_path / "src", INDEX_LAYER_SIZES)
    source_index = source.blobs[source.top_digest].read_bytes()
    children = json.loads(source_index)["manifests"]
    assert len(children) == 2

    push(source, live_registry, repo_name, "v1", "--all", "--preserve-digests")

    assert inspect_raw(live_registry, repo_name, "v1") == source_index
    served = get_manifest(live_registry, repo_name, "v1", OCI_INDEX)
    assert served.content == source_index
    assert served.headers["Docker-Content-Digest"] == source.top_digest
    assert served.headers["Content-Type"] == OCI_INDEX
    for child in children:
        served = get_manifest(live_registry, repo_name, child["digest"], OCI_MANIFEST)
        assert served.content == source.blobs[child["digest"]].read_bytes()
        assert served.headers["Docker-Content-Digest"] == child["digest"]

    back = pull(live_registry, repo_name, "v1", tmp_path / "back", "--all", "--preserve-digests")
    assert layout_top(back, "v1")["digest"] == source.top_digest
    # The index, two manifests, two configs and 2 x 2 layers.
    source_blobs = layout_blobs(source.path)
    assert len(source_blobs) == 9
    assert layout_blobs(back) == source_blobs


def test_inspect_and_list_tags_agree_with_pushed_images(live_registry, repo_name, tmp_path):
    first = image_layout(tmp_path / "one", [2 * KIB, 3 * KIB])
    second = image_layout(tmp_path / "two", [5 * KIB])
    push(first, live_registry, repo_name, "v1", "--preserve-digests")
    push(second, live_registry, repo_name, "v2", "--preserve-digests")

    for tag, layout in (("v1", first), ("v2", second)):
        manifest = json.loads(layout.blobs[layout.top_digest].read_bytes())
        result = skopeo("inspect", "--tls-verify=false", docker_ref(live_registry, repo_name, tag))
        info = json.loads(result.stdout)
        assert info["Name"] == f"{live_registry.host}/{repo_name}"
        assert info["Digest"] == layout.top_digest
        assert info["Layers"] == [layer["digest"] for layer in manifest["layers"]]
        assert sorted(info["RepoTags"]) == ["v1", "v2"]
        # Architecture, Os and Labels come from the config blob, fetched through the registry.
        config_bytes = layout.blobs[manifest["config"]["digest"]].read_bytes()
        config = json.loads(config_bytes)
        assert (info["Architecture"], info["Os"]) == ("amd64", "linux")
        assert info["Labels"] == config["config"]["Labels"]
        raw_config = skopeo(
            "inspect",
            "--tls-verify=false",
            "--config",
            "--raw",
            docker_ref(live_registry, repo_name, tag),
        )
        assert raw_config.stdout.encode() == config_bytes

    result = skopeo("list-tags", "--tls-verify=false", f"docker://{live_registry.host}/{repo_name}")
    listing = json.loads(result.stdout)
    assert listing["Repository"] == f"{live_registry.host}/{repo_name}"
    assert sorted(listing["Tags"]) == ["v1", "v2"]


def test_recompressing_push_pulls_back_and_digests_agree(live_registry, repo_name, tmp_path):
    """Without --preserve-digests skopeo gzips the (not really gzip) layers on the way in,
    so digests change; what the registry serves must still be self-consistent."""
    source = image_layout(tmp_path / "src", [200 * KIB + 3, 40 * KIB])
    source_manifest = json.loads(source.blobs[source.top_digest].read_bytes())

    push(source, live_registry, repo_name, "v1")

    served = get_manifest(live_registry, repo_name, "v1", OCI_MANIFEST)
    digest = served.headers["Docker-Content-Digest"]
    assert digest == sha256(served.content)
    assert served.headers["Content-Length"] == str(len(served.content))
    info = json.loads(
        skopeo("inspect", "--tls-verify=false", docker_ref(live_registry, repo_name, "v1")).stdout
    )
    assert info["Digest"] == digest
    assert inspect_raw(live_registry, repo_name, "v1") == served.content

    back = pull(live_registry, repo_name, "v1", tmp_path / "back")
    top = layout_top(back, "v1")
    assert (top["digest"], top["size"]) == (digest, len(served.content))
    pulled = layout_blobs(back)
    assert pulled[digest] == served.content

    # Each pulled layer is the gzip of the source layer; the config is unchanged.
    manifest = json.loads(served.content)
    assert manifest["config"] == source_manifest["config"]
    assert len(manifest["layers"]) == len(source_manifest["layers"])
    for layer, source_layer in zip(manifest["layers"], source_manifest["layers"], strict=True):
        data = pulled[layer["digest"]]
        assert (sha256(data), len(data)) == (layer["digest"], layer["size"])
        assert gzip.decompress(data) == source.blobs[source_layer["digest"]].read_bytes()


def test_copy_between_repositories_keeps_every_byte(live_registry, repo_name, tmp_path):
    """docker:// to docker:// on the same registry (skopeo may mount blobs across repos)."""
    source = image_layout(tmp_path / "src", [100 * KIB, 1])
    push(source, live_registry, repo_name, "v1", "--preserve-digests")
    other = f"{repo_name}-copy"

    skopeo(
        "copy",
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
        "--preserve-digests",
        docker_ref(live_registry, repo_name, "v1"),
        docker_ref(live_registry, other, "v9"),
    )

    assert inspect_raw(live_registry, other, "v9") == source.blobs[source.top_digest].read_bytes()
    back = pull(live_registry, other, "v9", tmp_path / "back", "--preserve-digests")
    assert layout_blobs(back) == layout_blobs(source.path)
