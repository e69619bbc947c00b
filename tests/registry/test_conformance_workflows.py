"""The four OCI distribution-spec v1.1.1 conformance workflows against a live distr.

Our own walk through what the official suite (opencontainers/distribution-spec,
`conformance/`, Go) checks, in its order and with its expectations: pull, push, content
discovery, content management. Where the suite accepts several answers, we assert the
one distr gives, so a change of behaviour shows here first (noted "distr:"). Each
workflow gets fresh repositories (`repo_name`) and content of its own, as the suite
builds one config and manifest per workflow.
"""

import base64
import hashlib
import json
import random
import re
import uuid

import pytest

from tests.support.server import live_http

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
OCTETS = "application/octet-stream"

NONEXISTENT_MANIFEST = ".INVALID_MANIFEST_NAME"  # the suite's "nonexistent" manifest
DUMMY_DIGEST = "sha256:" + hashlib.sha256(b"hello world").hexdigest()
EMPTY_JSON = b"{}"
EMPTY_JSON_DIGEST = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
ARTIFACT_A = "application/vnd.nhl.peanut.butter.bagel"
ARTIFACT_B = "application/vnd.nba.strawberry.jam.croissant"
ARTIFACT_INDEX = "application/vnd.food.stand"
ANNOTATION = "org.opencontainers.conformance.test"
TAG = "tagtest0"

# A small gzipped tarball, as the suite pushes for its layer.
LAYER = base64.b64decode(
    "H4sIAAAAAAAAA+3OQQrCMBCF4a49xXgBSUnaHMCTRBptQRNpp6i3t0UEV7oqIv7fYgbmzeJpHHSjVy0"
    "WZCa1c/MufWVe94N3RWlrZ72x3k/30nhbFWKWLPU0Dhp6keJ8im//PuU/6pZH2WVtYx8b0Sz7LjWSR5VLG6YRBumSzOlGtjkd+qD"
    "jMWiX07Befbs7AAAAAAAAAAAAAAAAAPyzO34MnqoAKAAA"
)

pytestmark = pytest.mark.usefixtures("live_credentials")


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def dumps(document: dict) -> bytes:
    return json.dumps(document, indent="\t").encode()


def descriptor(media_type: str, content: bytes, **extra) -> dict:
    return {"mediaType": media_type, "digest": digest(content), "size": len(content), **extra}


class Content:
    """One workflow's blobs and manifests, shaped like the suite's (setup.go)."""

    def __init__(self):
        # A config unique to this run (the suite sets a random author per workflow).
        self.config = dumps(
            {
                "author": uuid.uuid4().hex,
                "architecture": "amd64",
                "os": "linux",
                "rootfs": {"type": "layers", "diff_ids": []},
            }
        )
        layer = descriptor(OCI_LAYER, LAYER, data=None, newUnspecifiedField=None)
        # Unknown fields and an embedded `data` copy: the registry must store and serve them.
        config = descriptor(
            OCI_CONFIG,
            self.config,
            data=base64.b64encode(self.config).decode(),
            newUnspecifiedField=base64.b64encode(b"hello world").decode(),
        )
        self.manifest = dumps(
            {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config, "layers": [layer]}
        )
        self.empty_layer_manifest = dumps({"schemaVersion": 2, "config": config, "layers": []})


def location(response) -> str:
    """The suite's GetRelativeLocation: the Location header as a path on this registry."""
    value = response.headers["Location"]
    assert value
    return re.sub(r"^https?://[^/]+", "", value)


class Registry:
    def __init__(self, live, name: str):
        self.url, self.name = live.url, name

    def request(self, method: str, path: str, **kwargs):
        path = path.replace("<name>", self.name)
        return live_http.request(method, self.url + path, timeout=15, **kwargs)

    def push_blob(self, data: bytes, name: str | None = None) -> None:
        """POST for a session, then PUT the whole blob (the suite's setup steps)."""
        started = self.request("POST", f"/v2/{name or self.name}/blobs/uploads/")
        assert started.status_code == 202
        done = self.request(
            "PUT",
            location(started),
            params={"digest": digest(data)},
            data=data,
            headers={"Content-Type": OCTETS, "Content-Length": str(len(data))},
        )
        assert done.status_code == 201, done.text

    def put_manifest(self, reference: str, raw: bytes, media_type: str = OCI_MANIFEST):
        return self.request(
            "PUT",
            f"/v2/<name>/manifests/{reference}",
            data=raw,
            headers={"Content-Type": media_type},
        )

    def deleted(self, path: str, status: int = 202) -> None:
        """Teardown: the suite accepts 2xx, 404 or 405; distr deletes (202), and refuses
        with 405 UNSUPPORTED what a manifest still stored in the repository uses."""
        response = self.request("DELETE", path)
        assert response.status_code == status, (path, response.status_code, response.text)
        if status == 405:
            assert error_codes(response) == ["UNSUPPORTED"]


def error_codes(response) -> list[str]:
    return [error["code"] for error in response.json()["errors"]]


def assert_manifest_unknown(registry: Registry, reference: str) -> None:
    for method in ("HEAD", "GET"):
        response = registry.request(method, f"/v2/<name>/manifests/{reference}")
        assert response.status_code == 404, (method, reference)
        if method == "GET":
            assert error_codes(response) == ["MANIFEST_UNKNOWN"]


def test_pull_workflow(live_registry, repo_name):
    registry, ours = Registry(live_registry, repo_name), Content()
    other = Content()  # manifests[1] of the suite, pushed by digest
    # Setup
    registry.push_blob(ours.config)
    registry.push_blob(other.config)
    registry.push_blob(LAYER)
    assert registry.put_manifest(TAG, ours.manifest).status_code == 201
    assert registry.put_manifest(digest(other.manifest), other.manifest).status_code == 201

    # Pull blobs
    missing = registry.request("HEAD", f"/v2/<name>/blobs/{DUMMY_DIGEST}")
    assert missing.status_code == 404
    head = registry.request("HEAD", f"/v2/<name>/blobs/{digest(ours.config)}")
    assert head.status_code == 200
    assert head.headers["Docker-Content-Digest"] == digest(ours.config)
    missing = registry.request("GET", f"/v2/<name>/blobs/{DUMMY_DIGEST}")
    assert missing.status_code == 404
    assert error_codes(missing) == ["BLOB_UNKNOWN"]
    got = registry.request("GET", f"/v2/<name>/blobs/{digest(ours.config)}")
    assert got.status_code == 200
    assert got.content == ours.config

    # Pull manifests: the invalid reference first, then by digest and by tag
    accept = {"Accept": OCI_MANIFEST}
    assert_manifest_unknown(registry, NONEXISTENT_MANIFEST)
    for method in ("HEAD", "GET"):
        for reference, raw in (
            (digest(ours.manifest), ours.manifest),
            (digest(other.manifest), other.manifest),
            (TAG, ours.manifest),
        ):
            response = registry.request(method, f"/v2/<name>/manifests/{reference}", headers=accept)
            assert response.status_code == 200, (method, reference)
            assert response.headers["Docker-Content-Digest"] == digest(raw)
            assert response.headers["Content-Type"] == OCI_MANIFEST
            assert response.content == (raw if method == "GET" else b"")

    # Error codes: an invalid digest reference (the suite accepts 400 with a spec code, or 404)
    wrong = registry.request(
        "GET",
        "/v2/<name>/manifests/sha256:totallywrong",
        data=b"blablabla",
        headers={"Content-Type": OCI_MANIFEST},
    )
    assert wrong.status_code == 400  # distr: 400 DIGEST_INVALID
    assert error_codes(wrong) == ["DIGEST_INVALID"]

    # Teardown (manifests before blobs, the suite's default)
    registry.deleted(f"/v2/<name>/manifests/{digest(ours.manifest)}")
    registry.deleted(f"/v2/<name>/manifests/{digest(other.manifest)}")
    for data in (ours.config, other.config, LAYER):
        registry.deleted(f"/v2/<name>/blobs/{digest(data)}")


def test_push_workflow(live_registry, repo_name):
    registry, ours, index_child = Registry(live_registry, repo_name), Content(), Content()
    crossmount = f"{repo_name}-other"  # OCI_CROSSMOUNT_NAMESPACE
    blob_a = random.Random(1).randbytes(42)
    blob_b = random.Random(2).randbytes(42)
    ref_blob = b"NHL Peanut Butter on my NHL bagel"

    # Setup: the empty JSON blob and a reference blob
    assert digest(EMPTY_JSON) == EMPTY_JSON_DIGEST
    registry.push_blob(EMPTY_JSON)
    registry.push_blob(ref_blob)

    # Blob upload, streamed: one PATCH with the whole blob, then PUT with the digest
    started = registry.request("POST", "/v2/<name>/blobs/uploads/")
    assert started.status_code == 202
    patched = registry.request(
        "PATCH", location(started), data=blob_a, headers={"Content-Type": OCTETS}
    )
    assert patched.status_code == 202
    assert patched.headers["Range"] == f"0-{len(blob_a) - 1}"
    finished = registry.request(
        "PUT",
        location(patched),
        params={"digest": digest(blob_a)},
        headers={"Content-Type": OCTETS, "Content-Length": "0"},
    )
    assert finished.status_code == 201
    assert location(finished) == f"/v2/{repo_name}/blobs/{digest(blob_a)}"
    assert finished.headers["Docker-Content-Digest"] == digest(blob_a)

    # Blob upload, monolithic
    assert registry.request("GET", f"/v2/<name>/blobs/{DUMMY_DIGEST}").status_code == 404
    posted = registry.request(
        "POST",
        "/v2/<name>/blobs/uploads/",
        params={"digest": digest(ours.config)},
        data=ours.config,
        headers={"Content-Type": OCTETS, "Content-Length": str(len(ours.config))},
    )
    assert posted.status_code == 201  # the suite accepts 201 or 202; distr: 201
    assert location(posted) == f"/v2/{repo_name}/blobs/{digest(ours.config)}"
    assert registry.request("GET", f"/v2/<name>/blobs/{digest(ours.config)}").status_code == 200
    session = registry.request("POST", "/v2/<name>/blobs/uploads/")
    assert session.status_code == 202
    put = registry.request(
        "PUT",
        location(session),
        params={"digest": digest(ours.config)},
        data=ours.config,
        headers={"Content-Type": OCTETS, "Content-Length": str(len(ours.config))},
    )
    assert put.status_code == 201
    assert location(put)
    registry.push_blob(LAYER)
    assert registry.request("GET", f"/v2/<name>/blobs/{digest(LAYER)}").status_code == 200

    # Blob upload, chunked: out of order is 416, a resent chunk is 416, status is 204
    chunk1, chunk2 = blob_b[: len(blob_b) // 2 + 1], blob_b[len(blob_b) // 2 + 1 :]
    range1, range2 = f"0-{len(chunk1) - 1}", f"{len(chunk1)}-{len(blob_b) - 1}"

    def patch(path: str, chunk: bytes, content_range: str):
        return registry.request(
            "PATCH",
            path,
            data=chunk,
            headers={
                "Content-Type": OCTETS,
                "Content-Length": str(len(chunk)),
                "Content-Range": content_range,
            },
        )

    started = registry.request("POST", "/v2/<name>/blobs/uploads/", headers={"Content-Length": "0"})
    assert started.status_code == 202
    assert "OCI-Chunk-Min-Length" not in started.headers  # distr: any chunk size will do
    assert patch(location(started), chunk2, range2).status_code == 416
    started = registry.request("POST", "/v2/<name>/blobs/uploads/", headers={"Content-Length": "0"})
    first = patch(location(started), chunk1, range1)
    assert first.status_code == 202
    assert first.headers["Range"] == range1
    assert patch(location(started), chunk1, range1).status_code == 416
    status = registry.request("GET", location(started))
    assert status.status_code == 204
    assert status.headers["Range"] == range1
    second = patch(location(status), chunk2, range2)
    assert second.status_code == 202
    assert second.headers["Range"] == f"0-{len(blob_b) - 1}"
    done = registry.request(
        "PUT",
        location(second),
        params={"digest": digest(blob_b)},
        headers={"Content-Type": OCTETS, "Content-Length": "0"},
    )
    assert done.status_code == 201
    assert location(done) == f"/v2/{repo_name}/blobs/{digest(blob_b)}"

    # Cross-repository blob mount
    no_from = registry.request(
        "POST", f"/v2/{crossmount}/blobs/uploads/", params={"mount": DUMMY_DIGEST}
    )
    assert no_from.status_code == 202
    assert location(no_from).startswith(f"/v2/{crossmount}/blobs/uploads/")
    mounted = registry.request(
        "POST",
        f"/v2/{crossmount}/blobs/uploads/",
        params={"mount": digest(blob_a), "from": repo_name},
    )
    assert mounted.status_code == 201  # the suite accepts 201 or 202; distr: 201
    assert location(mounted) == f"/v2/{crossmount}/blobs/{digest(blob_a)}"
    assert registry.request("GET", location(mounted)).content == blob_a
    # distr has no automatic cross-mounting (OCI_AUTOMATIC_CROSSMOUNT=0): no `from`, no mount
    automatic = registry.request(
        "POST", f"/v2/{crossmount}/blobs/uploads/", params={"mount": digest(blob_a)}
    )
    assert automatic.status_code == 202

    # Manifest upload
    assert_manifest_unknown(registry, NONEXISTENT_MANIFEST)
    for i in range(4):
        response = registry.put_manifest(f"test{i}", ours.manifest)
        assert response.status_code == 201
        assert location(response) == f"/v2/{repo_name}/manifests/{digest(ours.manifest)}"
        assert response.headers["Docker-Content-Digest"] == digest(ours.manifest)
    empty = registry.put_manifest("emptylayer", ours.empty_layer_manifest)
    assert empty.status_code == 201
    assert location(empty)
    got = registry.request(
        "GET", f"/v2/<name>/manifests/{digest(ours.manifest)}", headers={"Accept": OCI_MANIFEST}
    )
    assert got.status_code == 200
    assert got.content == ours.manifest

    # Artifacts with a custom config media type and with artifactType [OCI-Image v1.1];
    # their subject (not pushed) makes them "dangling", which must be accepted.
    subject = descriptor(OCI_MANIFEST, index_child.manifest)
    config_type = dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": descriptor(ARTIFACT_A, ref_blob),
            "layers": [descriptor(OCI_EMPTY, EMPTY_JSON)],
            "subject": subject,
        }
    )
    artifact_type = dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": ARTIFACT_A,
            "config": descriptor(OCI_EMPTY, EMPTY_JSON),
            "layers": [descriptor(ARTIFACT_A, ref_blob)],
            "subject": subject,
        }
    )
    for raw in (config_type, artifact_type):
        response = registry.put_manifest(digest(raw), raw)
        assert response.status_code == 201
        assert re.fullmatch(r"[a-z0-9]+:[a-f0-9]+", response.headers["OCI-Subject"])
        assert response.headers["OCI-Subject"] == subject["digest"]

    # An image index, then an index of that index [OCI-Image v1.1]
    registry.push_blob(index_child.config)
    assert registry.put_manifest(TAG, index_child.manifest).status_code == 201
    index = dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "artifactType": ARTIFACT_INDEX,
            "manifests": [descriptor(OCI_MANIFEST, index_child.manifest)],
            "annotations": {ANNOTATION: "test index"},
        }
    )
    assert registry.put_manifest(digest(index), index, OCI_INDEX).status_code == 201
    nested = dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "artifactType": ARTIFACT_INDEX,
            "manifests": [descriptor(OCI_INDEX, index)],
            "annotations": {ANNOTATION: "test index"},
        }
    )
    assert registry.put_manifest(digest(nested), nested, OCI_INDEX).status_code == 201

    # Teardown
    for raw in (ours.manifest, config_type, artifact_type, ours.empty_layer_manifest):
        registry.deleted(f"/v2/<name>/manifests/{digest(raw)}")
    registry.deleted(f"/v2/<name>/blobs/{digest(ours.config)}")
    # The suite leaves the index child (and the indexes over it) stored; it uses LAYER.
    registry.deleted(f"/v2/<name>/blobs/{digest(LAYER)}", status=405)
    registry.deleted(f"/v2/<name>/blobs/{EMPTY_JSON_DIGEST}")


def test_content_discovery_workflow(live_registry, repo_name):
    registry = Registry(live_registry, repo_name)
    ours, subject, absent = Content(), Content(), Content()  # manifests[2], [4] and [3]
    ref_blob_a = b"NHL Peanut Butter on my NHL bagel"
    ref_blob_b = b"NBA Strawberry Jam on my NBA croissant"
    subject_descriptor = descriptor(OCI_MANIFEST, subject.manifest)

    def artifact(config: dict, layer: dict, note: str | None, about: dict, kind: str | None):
        document = {"schemaVersion": 2, "mediaType": OCI_MANIFEST}
        if kind:
            document["artifactType"] = kind
        document |= {"config": config, "layers": [layer], "subject": about}
        if note:
            document["annotations"] = {ANNOTATION: note}
        return dumps(document)

    empty = descriptor(OCI_EMPTY, EMPTY_JSON)
    a_config = artifact(
        descriptor(ARTIFACT_A, ref_blob_a), empty, "test config a", subject_descriptor, None
    )
    a_layer = artifact(
        empty, descriptor(ARTIFACT_A, ref_blob_a), "test layer a", subject_descriptor, ARTIFACT_A
    )
    b_config = artifact(
        descriptor(ARTIFACT_B, ref_blob_b), empty, "test config b", subject_descriptor, None
    )
    b_layer = artifact(
        empty, descriptor(ARTIFACT_B, ref_blob_b), "test layer b", subject_descriptor, ARTIFACT_B
    )
    dangling = artifact(
        empty,
        descriptor(ARTIFACT_B, ref_blob_b),
        None,
        descriptor(OCI_MANIFEST, absent.manifest),
        ARTIFACT_B,
    )
    index = dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "artifactType": ARTIFACT_INDEX,
            "manifests": [descriptor(OCI_MANIFEST, a_config), descriptor(OCI_MANIFEST, a_layer)],
            "subject": subject_descriptor,
            "annotations": {ANNOTATION: "test index"},
        }
    )
    notes = {
        digest(a_config): "test config a",
        digest(a_layer): "test layer a",
        digest(b_config): "test config b",
        digest(b_layer): "test layer b",
        digest(index): "test index",
    }

    # Setup: tags, then the referrers (some pushed before their subject exists)
    registry.push_blob(ours.config)
    registry.push_blob(LAYER)
    for i in range(4):
        assert registry.put_manifest(f"test{i}", ours.manifest).status_code == 201
    registry.push_blob(EMPTY_JSON)
    registry.push_blob(ref_blob_a)
    for raw, media_type in ((a_config, OCI_MANIFEST), (a_layer, OCI_MANIFEST), (index, OCI_INDEX)):
        response = registry.put_manifest(digest(raw), raw, media_type)
        assert response.status_code == 201
        assert response.headers["OCI-Subject"] == digest(subject.manifest)
    registry.push_blob(subject.config)
    registry.push_blob(LAYER)
    assert registry.put_manifest(TAG, subject.manifest).status_code == 201
    registry.push_blob(ref_blob_b)
    for raw in (b_config, b_layer):
        response = registry.put_manifest(digest(raw), raw)
        assert response.status_code == 201
        assert response.headers["OCI-Subject"] == digest(subject.manifest)
    response = registry.put_manifest(digest(dangling), dangling)
    assert response.status_code == 201
    assert response.headers["OCI-Subject"] == digest(absent.manifest)

    # Listing tags: all of them, then `n`, then `last`
    listed = registry.request("GET", "/v2/<name>/tags/list")
    assert listed.status_code == 200
    assert listed.json() == {
        "name": repo_name,
        "tags": ["tagtest0", "test0", "test1", "test2", "test3"],
    }
    tags = listed.json()["tags"]
    half = len(tags) // 2
    page = registry.request("GET", "/v2/<name>/tags/list", params={"n": half})
    assert page.status_code == 200
    assert page.json()["tags"] == tags[:half]
    # distr: a Link to the next page (the spec's MAY), `last` being the page's last tag
    assert (
        page.headers["Link"]
        == f'</v2/{repo_name}/tags/list?n={half}&last={tags[half - 1]}>; rel="next"'
    )
    after = registry.request(
        "GET", "/v2/<name>/tags/list", params={"n": half, "last": tags[half - 1]}
    )
    assert after.status_code == 200
    assert after.json()["tags"] == tags[half : 2 * half]
    none = registry.request("GET", "/v2/<name>/tags/list", params={"n": 0})
    assert none.status_code == 200
    assert none.json()["tags"] == []
    assert "Link" not in none.headers

    # Listing referrers
    def referrers(subject_digest: str, **params):
        response = registry.request("GET", f"/v2/<name>/referrers/{subject_digest}", params=params)
        assert response.status_code == 200
        assert response.headers["Content-Type"] == OCI_INDEX
        body = response.json()
        assert body["schemaVersion"] == 2
        assert body["mediaType"] == OCI_INDEX
        return response, body["manifests"]

    _, found = referrers(DUMMY_DIGEST)
    assert found == []
    response, found = referrers(digest(subject.manifest))
    assert "OCI-Filters-Applied" not in response.headers
    assert len(found) == 5
    assert {entry["digest"] for entry in found} == set(notes)
    for entry in found:
        assert entry["annotations"] == {ANNOTATION: notes[entry["digest"]]}
    response, found = referrers(digest(subject.manifest), artifactType=ARTIFACT_A)
    assert response.headers["OCI-Filters-Applied"] == "artifactType"
    assert {entry["digest"] for entry in found} == {digest(a_config), digest(a_layer)}
    assert {entry["artifactType"] for entry in found} == {ARTIFACT_A}
    for entry in found:
        assert entry["annotations"] == {ANNOTATION: notes[entry["digest"]]}
    _, found = referrers(digest(absent.manifest))
    assert [entry["digest"] for entry in found] == [digest(dangling)]

    # Teardown: by digest, and the tag through the same route (the suite deletes it so)
    for reference in (
        digest(index),
        digest(ours.manifest),
        digest(subject.manifest),
        digest(a_config),
        digest(a_layer),
        TAG,
        digest(b_config),
        digest(b_layer),
        digest(dangling),
    ):
        response = registry.request("DELETE", f"/v2/<name>/manifests/{reference}")
        # the tag went with its manifest: 404 is one of the answers the suite accepts
        assert response.status_code == (404 if reference == TAG else 202), reference
    for data in (ours.config, LAYER, subject.config, ref_blob_a, ref_blob_b, EMPTY_JSON):
        registry.deleted(f"/v2/<name>/blobs/{digest(data)}")


def test_content_management_workflow(live_registry, repo_name):
    registry, ours = Registry(live_registry, repo_name), Content()
    # Setup
    registry.push_blob(ours.config)
    registry.push_blob(LAYER)
    assert registry.put_manifest(TAG, ours.manifest).status_code == 201
    before = registry.request("GET", "/v2/<name>/tags/list")
    assert before.status_code == 200
    number_of_tags = len(before.json()["tags"])

    # Manifest delete: the tag (the suite accepts 202, or 400 UNSUPPORTED / 405), then the digest
    untagged = registry.request("DELETE", f"/v2/<name>/manifests/{TAG}")
    assert untagged.status_code == 202
    deleted = registry.request("DELETE", f"/v2/<name>/manifests/{digest(ours.manifest)}")
    assert deleted.status_code == 202  # deleting the tag left the manifest: 202, not 404
    gone = registry.request("GET", f"/v2/<name>/manifests/{digest(ours.manifest)}")
    assert gone.status_code == 404
    assert error_codes(gone) == ["MANIFEST_UNKNOWN"]
    after = registry.request("GET", "/v2/<name>/tags/list")
    assert after.status_code == 200
    assert len(after.json()["tags"]) < number_of_tags
    # references outside the grammar, and deleting what is already gone
    for reference in (NONEXISTENT_MANIFEST, "t" * 129, TAG, digest(ours.manifest)):
        response = registry.request("DELETE", f"/v2/<name>/manifests/{reference}")
        assert response.status_code == 404, reference
        assert error_codes(response) == ["MANIFEST_UNKNOWN"]
    bad = registry.request("DELETE", "/v2/<name>/manifests/sha256:totallywrong")
    assert bad.status_code == 400
    assert error_codes(bad) == ["DIGEST_INVALID"]

    # Blob delete
    for data in (ours.config, LAYER):
        response = registry.request("DELETE", f"/v2/<name>/blobs/{digest(data)}")
        assert response.status_code == 202  # the suite accepts 202, 404 or 405
    gone = registry.request("GET", f"/v2/<name>/blobs/{digest(ours.config)}")
    assert gone.status_code == 404
    assert error_codes(gone) == ["BLOB_UNKNOWN"]
    again = registry.request("DELETE", f"/v2/<name>/blobs/{digest(ours.config)}")
    assert again.status_code == 404
    assert error_codes(again) == ["BLOB_UNKNOWN"]
