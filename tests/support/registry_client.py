"""Push helpers over the Django test client, for HTTP contract tests."""

import hashlib
import json

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"


def sha256(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def push_blob(client, repo: str, data: bytes) -> dict:
    """Monolithic upload; returns the descriptor fields (digest, size)."""
    digest = sha256(data)
    response = client.post(
        f"/v2/{repo}/blobs/uploads/?digest={digest}",
        data=data,
        content_type="application/octet-stream",
    )
    assert response.status_code == 201, response.content
    return {"digest": digest, "size": len(data)}


def image_manifest(client, repo: str, *, layers: int = 1, media_type: str = OCI_MANIFEST, **extra):
    """Push a config and `layers` random-ish layers; return (manifest dict, raw bytes)."""
    config = push_blob(client, repo, json.dumps({"os": "linux", "n": repo}).encode())
    layer_descriptors = [
        {"mediaType": OCI_LAYER, **push_blob(client, repo, f"{repo}-layer-{i}".encode() * 50)}
        for i in range(layers)
    ]
    manifest = {
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": {"mediaType": OCI_CONFIG, **config},
        "layers": layer_descriptors,
        **extra,
    }
    return manifest, json.dumps(manifest, indent=3).encode()


def put_manifest(client, repo: str, reference: str, raw: bytes, media_type: str = OCI_MANIFEST):
    return client.put(f"/v2/{repo}/manifests/{reference}", data=raw, content_type=media_type)


def errors(response) -> list[str]:
    return [error["code"] for error in response.json()["errors"]]
