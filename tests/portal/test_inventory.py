"""portal/inventory.py: what the portal tells people about a tag, read from the
manifests actually pushed (kind, size, platforms, attachments, ordering)."""

import datetime
import json

from core.versions import tags_newest_first
from portal.inventory import manifest_summary, tag_summaries
from registry.models import Repository
from tests.support.registry_client import (
    OCI_INDEX,
    OCI_LAYER,
    image_manifest,
    push_blob,
    put_manifest,
    sha256,
)

REPO = "acme/app"
HELM_CONFIG = "application/vnd.cncf.helm.config.v1+json"


def _push_image(client, tag, **extra):
    manifest, raw = image_manifest(client, REPO, layers=2, **extra)
    assert put_manifest(client, REPO, tag, raw).status_code == 201
    return manifest, raw


def test_an_image_has_its_full_size_and_no_platform_list(client):
    manifest, raw = _push_image(client, "1.0")
    (summary,) = tag_summaries(repository=Repository.objects.get(name=REPO))
    expected = len(raw) + manifest["config"]["size"] + sum(x["size"] for x in manifest["layers"])
    assert (summary.name, summary.manifest.kind, summary.manifest.size) == (
        "1.0",
        "image",
        expected,
    )
    assert summary.manifest.digest == sha256(raw)
    assert [layer.digest for layer in summary.manifest.layers] == [
        x["digest"] for x in manifest["layers"]
    ]


def test_an_index_lists_platforms_and_sums_its_children(client):
    children = []
    for arch in ("arm64", "amd64"):
        manifest, raw = _push_image(client, f"child-{arch}")
        size = len(raw) + manifest["config"]["size"] + sum(x["size"] for x in manifest["layers"])
        children.append(({"os": "linux", "architecture": arch}, raw, size))
    index = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": sha256(raw),
                "size": len(raw),
                "platform": platform,
            }
            for platform, raw, _ in children
        ],
    }
    raw_index = json.dumps(index).encode()
    assert put_manifest(client, REPO, "2.0", raw_index, OCI_INDEX).status_code == 201

    (summary,) = tag_summaries(repository=Repository.objects.get(name=REPO), tag_names=["2.0"])
    assert summary.manifest.kind == "multi-platform image"
    assert summary.manifest.platforms == ["linux/amd64", "linux/arm64"]
    assert summary.manifest.size == len(raw_index) + sum(size for _, _, size in children)


def test_a_helm_chart_and_its_signature(client):
    config = push_blob(client, REPO, b'{"name":"app","version":"0.1.0"}')
    chart = push_blob(client, REPO, b"chart-bytes" * 10)
    raw = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": HELM_CONFIG, **config},
            "layers": [
                {"mediaType": "application/vnd.cncf.helm.chart.content.v1.tar+gzip", **chart}
            ],
        }
    ).encode()
    assert put_manifest(client, REPO, "0.1.0", raw).status_code == 201
    empty = push_blob(client, REPO, b"{}")
    signature = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "artifactType": "application/vnd.dev.cosign.artifact.sig.v1+json",
            "config": {"mediaType": "application/vnd.oci.empty.v1+json", **empty},
            "layers": [{"mediaType": OCI_LAYER, **push_blob(client, REPO, b"sig")}],
            "subject": {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": sha256(raw),
                "size": len(raw),
            },
        }
    ).encode()
    assert put_manifest(client, REPO, sha256(signature), signature).status_code == 201

    repository = Repository.objects.get(name=REPO)
    (summary,) = tag_summaries(repository=repository)
    assert summary.manifest.kind == "Helm chart"
    assert [(a.kind, a.digest) for a in summary.manifest.attachments] == [
        ("signature", sha256(signature))
    ]
    detail = manifest_summary(repository=repository, digest=sha256(signature))
    assert detail.kind == "artifact"
    assert manifest_summary(repository=repository, digest="sha256:" + "0" * 64) is None


def test_versions_sort_newest_first_then_other_tags():
    tags = ["latest", "1.10.0", "1.2.0", "v2.0", "1.2.0-rc1", "edge"]
    # Versions first, highest first; other tags after them, most recently pushed first.
    assert tags_newest_first(tags) == ["v2.0", "1.10.0", "1.2.0", "1.2.0-rc1", "latest", "edge"]
    pushed = {
        "latest": datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
        "edge": datetime.datetime(2026, 2, 1, tzinfo=datetime.UTC),
    }
    assert tags_newest_first(pushed) == ["edge", "latest"]
