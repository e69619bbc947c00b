"""The licensing scenario, the one every licensing test module pushes (its fixtures are in
tests/licensing/conftest.py), and how a denial is asserted.

acme pushed `acme/app` 1.0, 1.1 and 2.0: every release has a config and a layer of its
own, all three share one base layer. 1.1 and 2.0 each carry a signature referrer
(artifactType application/vnd.example.sig, pushed by digest with `subject`). globex
holds license 'Support 1.x' for acme/app with `glob:1.*`."""

import json

from tests.support.registry_client import OCI_CONFIG, OCI_LAYER, OCI_MANIFEST, push_blob, sha256

REPO = "acme/app"
LICENSE = "Support 1.x"
SIG = "application/vnd.example.sig"
EMPTY = "application/vnd.oci.empty.v1+json"


def image(client, base: dict, label: str, repo: str = REPO) -> tuple[bytes, str]:
    """Push the blobs of an image on `base` with one layer of its own; return the manifest
    bytes (not pushed) and the digest of that own layer."""
    own = push_blob(client, repo, f"own layer of {label}".encode() * 20)
    config = push_blob(client, repo, json.dumps({"label": label}).encode())
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, **config},
        "layers": [{"mediaType": OCI_LAYER, **base}, {"mediaType": OCI_LAYER, **own}],
    }
    return json.dumps(manifest).encode(), own["digest"]


def put(client, reference: str, raw: bytes, repo: str = REPO) -> str:
    response = client.put(f"/v2/{repo}/manifests/{reference}", data=raw, content_type=OCI_MANIFEST)
    assert response.status_code == 201, response.content
    return response["Docker-Content-Digest"]


def sign(client, subject: bytes, repo: str = REPO) -> str:
    """Push a signature manifest referring to `subject` (by digest only); its digest."""
    empty = push_blob(client, repo, b"{}")
    payload = push_blob(client, repo, b"signature of " + sha256(subject).encode())
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": SIG,
        "config": {"mediaType": EMPTY, **empty},
        "layers": [{"mediaType": "application/octet-stream", **payload}],
        "subject": {"mediaType": OCI_MANIFEST, "digest": sha256(subject), "size": len(subject)},
    }
    raw = json.dumps(manifest).encode()
    return put(client, sha256(raw), raw, repo=repo)


def push_scenario(client, repo: str = REPO) -> dict:
    """Returns {"base": digest, "base_descriptor": {...}, "1.0": {...}, "1.1": …, "2.0": …}
    where each release has raw, digest, own (layer digest) and, for 1.1/2.0, sig."""
    base = push_blob(client, repo, b"shared base layer " * 40)
    pushed: dict = {"base": base["digest"], "base_descriptor": base}
    for tag in ("1.0", "1.1", "2.0"):
        raw, own = image(client, base, tag, repo=repo)
        digest = put(client, tag, raw, repo=repo)
        assert digest == sha256(raw)
        pushed[tag] = {"raw": raw, "digest": digest, "own": own}
    for tag in ("1.1", "2.0"):
        pushed[tag]["sig"] = sign(client, pushed[tag]["raw"], repo=repo)
    return pushed


def denied(response, message: str | None = None, *fragments: str) -> dict:
    """403, OCI code DENIED, no Bearer challenge; the message exactly `message` (when
    given) and containing every fragment. Returns the error."""
    assert response.status_code == 403, (response.status_code, response.content)
    assert "WWW-Authenticate" not in response
    body = response.json()
    assert len(body["errors"]) == 1, body
    error = body["errors"][0]
    assert error["code"] == "DENIED", error
    if message is not None:
        assert error["message"] == message, error["message"]
    for fragment in fragments:
        assert fragment in error["message"], error["message"]
    return error


def not_covered(what: str, repo: str = REPO) -> str:
    return f"{what} of {repo} is not covered by your license"
