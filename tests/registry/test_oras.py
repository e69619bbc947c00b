"""oras-py (the `oras` PyPI SDK) against distr under gunicorn: artifacts with their own
artifactType, plain pushes and pulls, referrers through `subject`, and tag listing.

oras-py has no referrers code, so the referrers API is checked with requests."""

import hashlib
import json
import os
from dataclasses import asdict
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import oras.auth
import oras.oci
import pytest
import requests

from tests.support.oras_client import oras_client
from tests.support.server import live_http

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
EMPTY_MEDIA_TYPE = "application/vnd.oci.empty.v1+json"
EMPTY_DIGEST = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
TITLE = "org.opencontainers.image.title"
ARTIFACT_TYPE = "application/vnd.example.bundle.v1"
SIGNATURE_TYPE = "application/vnd.example.signature.v1"
SBOM_TYPE = "application/vnd.example.sbom.v1"
MIB = 1024 * 1024


def sha256(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


@pytest.fixture
def client(monkeypatch, tmp_path, live_credentials):
    return oras_client(monkeypatch, tmp_path, live_credentials)


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def upload_blob(client, target: str, path: Path, layer: dict) -> None:
    """oras-py's upload_blob: distr's 201, or, when oras-py's HEAD finds the blob already
    in the repository, the 200 oras-py makes up without sending the upload."""
    there = client.blob_exists(layer, client.get_container(target))
    response = client.upload_blob(str(path), target, layer)
    assert response.status_code == (200 if there else 201), response.text


def upload(client, target: str, path: Path, media_type: str) -> dict:
    """Upload one file as a blob; returns its descriptor (with a title annotation)."""
    layer = oras.oci.NewLayer(str(path), media_type=media_type)
    upload_blob(client, target, path, layer)
    return {**layer, "annotations": {TITLE: path.name}}


def artifact_manifest(client, target: str, artifact_type: str, files: dict, **extra) -> dict:
    """Upload the empty config and `files` ({path: media type}); return an OCI manifest
    with a top-level artifactType, as ORAS 1.1 writes them (oras-py's push() cannot)."""
    empty = write(Path("empty.json"), b"{}")
    config = oras.oci.NewLayer(str(empty), media_type=EMPTY_MEDIA_TYPE)
    assert config == {"mediaType": EMPTY_MEDIA_TYPE, "digest": EMPTY_DIGEST, "size": 2}
    upload_blob(client, target, empty, config)
    manifest = oras.oci.NewManifest()
    manifest.pop("annotations")
    manifest["artifactType"] = artifact_type
    manifest["config"] = config
    manifest["layers"] = [upload(client, target, path, mt) for path, mt in files.items()]
    manifest.update(extra)
    return manifest


def get_manifest(live, repo: str, reference: str) -> requests.Response:
    response = live_http.get(
        f"{live.url}/v2/{repo}/manifests/{reference}", headers={"Accept": OCI_MANIFEST}, timeout=30
    )
    assert response.status_code == 200, response.text
    return response


def subject_of(live, repo: str, reference: str) -> oras.oci.Subject:
    """The descriptor of a manifest as the registry serves it (HEAD), not as re-serialised."""
    response = live_http.head(
        f"{live.url}/v2/{repo}/manifests/{reference}", headers={"Accept": OCI_MANIFEST}, timeout=30
    )
    assert response.status_code == 200, response.text
    return oras.oci.Subject(
        mediaType=response.headers["Content-Type"],
        digest=response.headers["Docker-Content-Digest"],
        size=int(response.headers["Content-Length"]),
    )


def referrers(live, repo: str, digest: str, **params) -> requests.Response:
    response = live_http.get(f"{live.url}/v2/{repo}/referrers/{digest}", params=params, timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == OCI_INDEX
    return response


def test_artifact_with_artifact_type_round_trips(client, live_registry, repo_name, tmp_path):
    target = f"{live_registry.host}/{repo_name}:v1"
    report = write(Path("src/report.txt"), b"all green\n" * 1000)
    payload = write(Path("src/payload.bin"), os.urandom(MIB + 13))
    manifest = artifact_manifest(
        client,
        target,
        ARTIFACT_TYPE,
        {report: "application/vnd.example.report.v1+text", payload: "application/octet-stream"},
        annotations={"org.example.build": "42"},
    )
    sent = json.dumps(manifest).encode()  # what requests sends for json=manifest

    response = client.upload_manifest(manifest, client.get_container(target))
    assert response.status_code == 201, response.text
    assert response.headers["Docker-Content-Digest"] == sha256(sent)
    assert "OCI-Subject" not in response.headers

    served = get_manifest(live_registry, repo_name, "v1")
    assert served.content == sent
    assert served.headers["Content-Type"] == OCI_MANIFEST
    assert served.headers["Docker-Content-Digest"] == sha256(sent)
    assert served.json()["artifactType"] == ARTIFACT_TYPE

    pulled = client.pull(target=target, outdir=str(tmp_path / "out"))
    assert sorted(Path(p).name for p in pulled) == ["payload.bin", "report.txt"]
    for path in pulled:
        assert Path(path).read_bytes() == (Path("src") / Path(path).name).read_bytes()
    empty = live_http.get(f"{live_registry.url}/v2/{repo_name}/blobs/{EMPTY_DIGEST}", timeout=30)
    assert empty.content == b"{}"


def route(url: str) -> str:
    """What a request URL addresses: token, upload, blob or manifest."""
    path = url.split("?", 1)[0]
    for kind, marker in (
        ("token", "/v2/token"),
        ("upload", "/blobs/uploads/"),
        ("blob", "/blobs/"),
        ("manifest", "/manifests/"),
    ):
        if marker in path:
            return kind
    return path


def recorded(client) -> tuple[list, list]:
    """Record (method, route, status) of every response the client's session sees, and the
    scopes of its token requests."""
    seen, scopes = [], []

    def hook(response, *args, **kwargs):
        kind = route(response.request.url)
        seen.append((response.request.method, kind, response.status_code))
        if kind == "token":
            scopes.extend(parse_qs(urlsplit(response.request.url).query).get("scope", []))

    client.session.hooks["response"].append(hook)
    return seen, scopes


def test_unmodified_sdk_pushes_and_pulls_with_basic_credentials_only(
    live_registry, live_credentials, repo_name, monkeypatch, tmp_path
):
    """oras-py's own TokenAuth, nothing patched on the instance or the class, and only Basic
    credentials: the push needs one token, the one the first blob HEAD's challenge asks for."""
    client = oras_client(monkeypatch, tmp_path, live_credentials)
    assert type(client.auth) is oras.auth.TokenAuth
    assert "authenticate_request" not in vars(client.auth)
    assert client.auth.token is None
    seen, scopes = recorded(client)
    target = f"{live_registry.host}/{repo_name}:v1"
    write(Path("notes.txt"), b"pushed by an unmodified oras-py\n")

    response = client.push(target=target, files=["notes.txt:text/plain"], quiet=True)
    assert response.status_code == 201, response.text
    assert seen == [
        ("HEAD", "blob", 401),  # challenge: scope="repository:<repo>:pull,push"
        ("GET", "token", 200),  # the one token of the whole push
        ("HEAD", "blob", 404),
        ("POST", "upload", 202),
        ("PUT", "upload", 201),
        ("HEAD", "blob", 404),  # the config blob, same token
        ("POST", "upload", 202),
        ("PUT", "upload", 201),
        ("PUT", "manifest", 201),
    ]
    assert scopes == [f"repository:{repo_name}:pull,push"]

    reader = oras_client(monkeypatch, tmp_path / "reader", live_credentials)
    seen, scopes = recorded(reader)
    pulled = reader.pull(target=target, outdir=str(tmp_path / "out"))
    assert [Path(p).read_bytes() for p in pulled] == [b"pushed by an unmodified oras-py\n"]
    assert seen[:3] == [("GET", "manifest", 401), ("GET", "token", 200), ("GET", "manifest", 200)]
    assert scopes == [f"repository:{repo_name}:pull"]


def test_plain_push_and_pull_round_trip(client, live_registry, repo_name, tmp_path):
    target = f"{live_registry.host}/{repo_name}:v1"
    config = write(Path("config.json"), b'{"kind": "example", "n": 1}')
    write(Path("report.txt"), b"line\n" * 300)
    write(Path("big.bin"), os.urandom(2 * MIB + 5))
    write(Path("tree/a.txt"), b"a" * 10)
    write(Path("tree/sub/b.bin"), os.urandom(4096))

    response = client.push(
        target=target,
        files=["report.txt:application/vnd.example.report.v1+text", "big.bin", "tree"],
        manifest_config="config.json:application/vnd.example.config.v1+json",
        manifest_annotations={"org.example.build": "7"},
        do_chunked=True,  # POST, then PATCHes of 1 MiB, then PUT
        chunk_size=MIB,
        quiet=True,
    )
    assert response.status_code == 201, response.text

    served = get_manifest(live_registry, repo_name, "v1")
    assert served.headers["Docker-Content-Digest"] == response.headers["Docker-Content-Digest"]
    assert served.headers["Docker-Content-Digest"] == sha256(served.content)
    manifest = served.json()
    assert manifest["config"] == {
        "mediaType": "application/vnd.example.config.v1+json",
        "digest": sha256(config.read_bytes()),
        "size": config.stat().st_size,
    }
    assert manifest["annotations"] == {"org.example.build": "7"}
    assert [layer["annotations"][TITLE] for layer in manifest["layers"]] == [
        "report.txt",
        "big.bin",
        "tree",
    ]
    blob = live_http.get(
        f"{live_registry.url}/v2/{repo_name}/blobs/{manifest['config']['digest']}", timeout=30
    )
    assert blob.content == config.read_bytes()

    out = tmp_path / "out"
    client.pull(target=target, outdir=str(out))
    for name in ("report.txt", "big.bin", "tree/a.txt", "tree/sub/b.bin"):
        assert (out / name).read_bytes() == Path(name).read_bytes(), name


def test_referrers_through_subject(client, live_registry, repo_name):
    repo = repo_name
    target = f"{live_registry.host}/{repo}"
    subject_manifest = artifact_manifest(
        client, f"{target}:v1", ARTIFACT_TYPE, {write(Path("app.txt"), b"app"): "text/plain"}
    )
    response = client.upload_manifest(subject_manifest, client.get_container(f"{target}:v1"))
    assert response.status_code == 201, response.text
    subject = subject_of(live_registry, repo, "v1")
    assert subject.mediaType == OCI_MANIFEST
    assert subject.digest == response.headers["Docker-Content-Digest"]

    # A signature pushed by digest through oras-py (whose response keeps its headers).
    signature = artifact_manifest(
        client,
        target,
        SIGNATURE_TYPE,
        {write(Path("sig.bin"), os.urandom(64)): "application/vnd.example.signature.v1+bin"},
        subject=asdict(subject),
        annotations={"org.example.signer": "ci"},
    )
    signature_raw = json.dumps(signature).encode()
    response = client.upload_manifest(
        signature, client.get_container(f"{target}@{sha256(signature_raw)}")
    )
    assert response.status_code == 201, response.text
    assert response.headers["Docker-Content-Digest"] == sha256(signature_raw)
    assert response.headers["OCI-Subject"] == subject.digest

    # An SBOM pushed by digest with requests, in bytes of our own (indented JSON).
    sbom = artifact_manifest(
        client,
        target,
        SBOM_TYPE,
        {write(Path("sbom.json"), b'{"packages": []}'): "application/spdx+json"},
        subject=asdict(subject),
    )
    sbom_raw = json.dumps(sbom, indent=4).encode()
    response = live_http.put(
        f"{live_registry.url}/v2/{repo}/manifests/{sha256(sbom_raw)}",
        data=sbom_raw,
        headers={"Content-Type": OCI_MANIFEST},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    assert response.headers["Docker-Content-Digest"] == sha256(sbom_raw)
    assert response.headers["OCI-Subject"] == subject.digest
    assert get_manifest(live_registry, repo, sha256(sbom_raw)).content == sbom_raw
    assert get_manifest(live_registry, repo, sha256(signature_raw)).content == signature_raw

    signature_descriptor = {
        "mediaType": OCI_MANIFEST,
        "digest": sha256(signature_raw),
        "size": len(signature_raw),
        "artifactType": SIGNATURE_TYPE,
        "annotations": {"org.example.signer": "ci"},
    }
    sbom_descriptor = {
        "mediaType": OCI_MANIFEST,
        "digest": sha256(sbom_raw),
        "size": len(sbom_raw),
        "artifactType": SBOM_TYPE,
    }

    response = referrers(live_registry, repo, subject.digest)
    index = response.json()
    assert (index["schemaVersion"], index["mediaType"]) == (2, OCI_INDEX)
    by_type = sorted(index["manifests"], key=lambda d: d["artifactType"])
    assert by_type == [sbom_descriptor, signature_descriptor]
    assert "OCI-Filters-Applied" not in response.headers

    response = referrers(live_registry, repo, subject.digest, artifactType=SBOM_TYPE)
    assert response.headers["OCI-Filters-Applied"] == "artifactType"
    assert response.json()["manifests"] == [sbom_descriptor]

    # The signature refers to nothing; neither does a digest the registry has never seen.
    for lonely in (sha256(signature_raw), sha256(os.urandom(16))):
        index = referrers(live_registry, repo, lonely).json()
        assert index == {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}

    # Referrers pushed by digest leave the tag list alone (no sha256-<hex> fallback tags).
    assert client.get_tags(target) == ["v1"]


def test_get_tags_agrees_with_pushed_tags(client, live_registry, repo_name):
    target = f"{live_registry.host}/{repo_name}"
    write(Path("note.txt"), b"note")
    for tag in ("v2", "latest", "v1", "1.0.0"):
        client.push(target=f"{target}:{tag}", files=["note.txt"], quiet=True)

    assert client.get_tags(target) == ["1.0.0", "latest", "v1", "v2"]
    assert client.get_tags(target, N=2) == ["1.0.0", "latest"]
    listing = live_http.get(f"{live_registry.url}/v2/{repo_name}/tags/list", timeout=30).json()
    assert listing == {"name": repo_name, "tags": ["1.0.0", "latest", "v1", "v2"]}
