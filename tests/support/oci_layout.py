"""Build OCI image layouts of random bytes on disk, for skopeo round trips and benchmarks.

Layers are random bytes declared as gzip layers: the registry never looks inside them and
`skopeo copy --preserve-digests` copies them unchanged, so every digest survives the trip.
"""

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


@dataclass
class Layout:
    path: Path
    tag: str
    top_digest: str  # the manifest or index index.json points at
    blobs: dict[str, Path] = field(default_factory=dict)  # digest -> file in the layout

    @property
    def ref(self) -> str:
        return f"oci:{self.path}:{self.tag}"


def _write_blob(root: Path, data: bytes) -> tuple[str, int]:
    digest = hashlib.sha256(data).hexdigest()
    target = root / "blobs" / "sha256" / digest
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return f"sha256:{digest}", len(data)


def _write_random_blob(root: Path, size: int, chunk: int = 8 * 1024 * 1024) -> tuple[str, int]:
    """Stream random bytes to a file while hashing (bench layers are hundreds of MB)."""
    tmp = root / "blobs" / "sha256" / ".tmp"
    tmp.parent.mkdir(parents=True, exist_ok=True)
    hasher = hashlib.sha256()
    with open(tmp, "wb") as handle:
        remaining = size
        while remaining:
            piece = os.urandom(min(chunk, remaining))
            hasher.update(piece)
            handle.write(piece)
            remaining -= len(piece)
    digest = hasher.hexdigest()
    os.replace(tmp, root / "blobs" / "sha256" / digest)
    return f"sha256:{digest}", size


def _image(root: Path, layer_sizes: list[int], platform: dict) -> tuple[str, int]:
    layers = []
    diff_ids = []
    for size in layer_sizes:
        digest, size = _write_random_blob(root, size)
        layers.append({"mediaType": OCI_LAYER, "digest": digest, "size": size})
        diff_ids.append(digest)
    config = {
        "architecture": platform["architecture"],
        "os": platform["os"],
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "config": {"Labels": {"nonce": os.urandom(8).hex()}},
    }
    config_digest, config_size = _write_blob(root, json.dumps(config).encode())
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": config_size},
        "layers": layers,
    }
    return _write_blob(root, json.dumps(manifest, indent=2).encode())


def _finish(root: Path, tag: str, media_type: str, digest: str, size: int) -> Layout:
    (root / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": media_type,
                "digest": digest,
                "size": size,
                "annotations": {"org.opencontainers.image.ref.name": tag},
            }
        ],
    }
    (root / "index.json").write_text(json.dumps(index))
    blobs = {f"sha256:{p.name}": p for p in (root / "blobs" / "sha256").iterdir()}
    return Layout(path=root, tag=tag, top_digest=digest, blobs=blobs)


def image_layout(root: Path, layer_sizes: list[int], tag: str = "v1") -> Layout:
    """A single-platform image with one layer of random bytes per entry of `layer_sizes`."""
    root.mkdir(parents=True, exist_ok=True)
    digest, size = _image(root, layer_sizes, {"architecture": "amd64", "os": "linux"})
    return _finish(root, tag, OCI_MANIFEST, digest, size)


def index_layout(root: Path, layer_sizes: list[int], tag: str = "v1") -> Layout:
    """A multi-platform index (linux/amd64 and linux/arm64), each image with its own layers."""
    root.mkdir(parents=True, exist_ok=True)
    entries = []
    for platform in (
        {"architecture": "amd64", "os": "linux"},
        {"architecture": "arm64", "os": "linux"},
    ):
        digest, size = _image(root, layer_sizes, platform)
        entries.append(
            {"mediaType": OCI_MANIFEST, "digest": digest, "size": size, "platform": platform}
        )
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}
    digest, size = _write_blob(root, json.dumps(index, indent=2).encode())
    return _finish(root, tag, OCI_INDEX, digest, size)
