"""The license decision against a customer trying to get around it (issue scenario):
globex is licensed for acme/app `glob:1.*`; acme pushed 1.0, 1.1 and 2.0 (2.0 with a layer
of its own, all sharing a base layer) and a signature on 1.1 and on 2.0."""

import datetime
import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from customers.services import customer_create, token_mint, vendor_create
from licensing.services import grant_add, license_create, license_suspend
from tests.conftest import basic, license_grant
from tests.support.queries import request_queries
from tests.support.registry_client import OCI_MANIFEST, push_blob, put_manifest, sha256

pytestmark = pytest.mark.django_db
REPO = "acme/app"
SIG = "application/vnd.example.sig.v1"


def image(client, base: dict, own: bytes, repo: str = REPO) -> tuple[bytes, dict]:
    layer = push_blob(client, repo, own)
    config = push_blob(client, repo, json.dumps({"own": own.decode()}).encode())
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config},
        "layers": [
            {"mediaType": "application/vnd.oci.image.layer.v1.tar", **base},
            {"mediaType": "application/vnd.oci.image.layer.v1.tar", **layer},
        ],
    }
    return json.dumps(manifest).encode(), layer


def signature(client, subject: bytes) -> bytes:
    empty = push_blob(client, REPO, b"{}")
    payload = push_blob(client, REPO, b"sig of " + sha256(subject).encode())
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": SIG,
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", **empty},
        "layers": [{"mediaType": "application/octet-stream", **payload}],
        "subject": {"mediaType": OCI_MANIFEST, "digest": sha256(subject), "size": len(subject)},
    }
    raw = json.dumps(manifest).encode()
    assert put_manifest(client, REPO, sha256(raw), raw).status_code == 201
    return raw


@pytest.fixture
def pushed(client):
    base = push_blob(client, REPO, b"shared base layer")
    releases = {}
    for tag in ("1.0", "1.1", "2.0"):
        raw, own = image(client, base, f"layer of {tag}".encode())
        assert put_manifest(client, REPO, tag, raw).status_code == 201
        releases[tag] = {"raw": raw, "digest": sha256(raw), "own": own["digest"]}
    releases["1.1"]["sig"] = sha256(signature(client, releases["1.1"]["raw"]))
    releases["2.0"]["sig"] = sha256(signature(client, releases["2.0"]["raw"]))
    return {"base": base["digest"], **releases}


@pytest.fixture
def globex(customer, pushed):
    license_grant(customer, REPO, "glob:1.*", name="Support 1.x")
    return customer


@pytest.fixture
def customer_client(globex, pull_secret) -> Client:
    return Client(HTTP_AUTHORIZATION=basic(pull_secret, "globex"))


def denied(response, *fragments: str) -> None:
    assert response.status_code == 403, response.content
    error = response.json()["errors"][0]
    assert error["code"] == "DENIED"
    for fragment in fragments:
        assert fragment in error["message"], error["message"]


def test_entitled_tags_pull(customer_client, pushed):
    for tag in ("1.0", "1.1"):
        response = customer_client.get(f"/v2/{REPO}/manifests/{tag}")
        assert response.status_code == 200
        assert response.content == pushed[tag]["raw"]


def test_unentitled_tag_and_its_digest_and_layer_are_denied(customer_client, pushed):
    denied(customer_client.get(f"/v2/{REPO}/manifests/2.0"), "tag '2.0'", "not covered")
    denied(customer_client.get(f"/v2/{REPO}/manifests/{pushed['2.0']['digest']}"), "not covered")
    denied(customer_client.get(f"/v2/{REPO}/blobs/{pushed['2.0']['own']}"), "not covered")


def test_shared_layer_and_entitled_layers_pull(customer_client, pushed):
    for digest in (pushed["base"], pushed["1.1"]["own"]):
        response = customer_client.get(f"/v2/{REPO}/blobs/{digest}")
        assert response.status_code == 200
        assert response["Docker-Content-Digest"] == digest


def test_referrers_follow_their_subject(customer_client, pushed):
    assert customer_client.get(f"/v2/{REPO}/manifests/{pushed['1.1']['sig']}").status_code == 200
    denied(customer_client.get(f"/v2/{REPO}/manifests/{pushed['2.0']['sig']}"))
    listed = customer_client.get(f"/v2/{REPO}/referrers/{pushed['1.1']['digest']}").json()
    assert [d["digest"] for d in listed["manifests"]] == [pushed["1.1"]["sig"]]
    hidden = customer_client.get(f"/v2/{REPO}/referrers/{pushed['2.0']['digest']}").json()
    assert hidden["manifests"] == []


def test_tag_list_and_catalog_show_only_what_is_licensed(client, customer_client, pushed):
    _, other = image(client, {"digest": pushed["base"], "size": 17}, b"x", repo="acme/other")
    assert customer_client.get(f"/v2/{REPO}/tags/list").json() == {
        "name": REPO,
        "tags": ["1.0", "1.1"],
    }
    assert customer_client.get("/v2/_catalog").json() == {"repositories": [REPO]}
    denied(customer_client.get("/v2/acme/other/tags/list"), "no license of yours covers")


def test_customer_cannot_push_delete_or_mount(customer_client, pushed):
    own = pushed["2.0"]["own"]
    mount = customer_client.post(f"/v2/acme/mine/blobs/uploads/?mount={own}&from={REPO}")
    denied(mount)
    denied(customer_client.delete(f"/v2/{REPO}/manifests/1.0"))
    denied(put_manifest(customer_client, REPO, "1.9", pushed["1.0"]["raw"]))


def test_expired_license_says_so(customer, pushed, pull_secret):
    license = license_create(
        vendor=customer.vendor,
        customer=customer,
        name="Enterprise 2026",
        valid_from=datetime.date(2026, 1, 1),
        valid_until=datetime.date(2026, 6, 30),
    )
    grant_add(license=license, repository_name=REPO, tag_rule="glob:*")
    response = Client(HTTP_AUTHORIZATION=basic(pull_secret)).get(f"/v2/{REPO}/manifests/1.0")
    denied(response, "license 'Enterprise 2026' expired on 2026-06-30")


# Cache invalidation happens on commit: run with real commits.
@pytest.mark.django_db(transaction=True)
def test_suspension_takes_effect_on_the_next_request(customer_client, globex, pushed):
    assert customer_client.get(f"/v2/{REPO}/manifests/1.0").status_code == 200
    license_suspend(license=globex.licenses.get())
    denied(customer_client.get(f"/v2/{REPO}/manifests/1.0"), "license 'Support 1.x' is suspended")
    denied(customer_client.get(f"/v2/{REPO}/blobs/{pushed['base']}"), "suspended")


def test_another_customer_and_another_vendor(customer_client, vendor, pushed, client):
    initial, _ = customer_create(vendor=vendor, slug="initial")
    other_secret = token_mint(vendor=vendor, customer=initial, kind="pull", name="x").secret
    response = Client(HTTP_AUTHORIZATION=basic(other_secret)).get(f"/v2/{REPO}/manifests/1.0")
    denied(response, "no license of yours covers acme/app")
    assert "globex" not in response.content.decode().lower()

    initech, _ = vendor_create(slug="initech")
    initech_ci = Client(
        HTTP_AUTHORIZATION=basic(token_mint(vendor=initech, kind="push", name="ci").secret)
    )
    base = push_blob(initech_ci, "initech/app", b"initech base")
    raw, _ = image(initech_ci, base, b"initech layer", repo="initech/app")
    assert put_manifest(initech_ci, "initech/app", "1.0", raw).status_code == 201
    existing = customer_client.get("/v2/initech/app/manifests/1.0")
    missing = customer_client.get("/v2/initech/nothing/manifests/1.0")
    denied(existing)
    denied(missing)
    assert existing.json()["errors"][0]["message"] == missing.json()["errors"][0][
        "message"
    ].replace("initech/nothing", "initech/app")


@pytest.mark.parametrize(
    "rule, allowed, refused",
    [("semver:>=2.0,<3", "2.0", "1.1"), ("exact:1.0", "1.0", "1.1"), ("glob:2.*", "2.0", "1.0")],
)
def test_rule_kinds(customer, pushed, pull_secret, rule, allowed, refused):
    license_grant(customer, REPO, rule)
    customer_client = Client(HTTP_AUTHORIZATION=basic(pull_secret))
    assert customer_client.get(f"/v2/{REPO}/manifests/{allowed}").status_code == 200
    denied(customer_client.get(f"/v2/{REPO}/manifests/{refused}"), f"tag '{refused}'")


# Cache invalidation happens on commit: run with real commits.
@pytest.mark.django_db(transaction=True)
def test_tag_history_keeps_pinned_digests(client, customer_client, pushed):
    old = pushed["1.1"]["digest"]
    assert customer_client.get(f"/v2/{REPO}/manifests/{old}").status_code == 200
    raw, layer = image(client, {"digest": pushed["base"], "size": 17}, b"1.1 rebuilt")
    assert put_manifest(client, REPO, "1.1", raw).status_code == 201  # vendor moves 1.1
    assert customer_client.get(f"/v2/{REPO}/manifests/{old}").status_code == 200
    assert customer_client.get(f"/v2/{REPO}/manifests/1.1").content == raw
    assert customer_client.get(f"/v2/{REPO}/blobs/{layer['digest']}").status_code == 200  # at once
    # a manifest pushed by digest only was never under an entitled tag
    lone, _ = image(client, {"digest": pushed["base"], "size": 17}, b"never tagged")
    assert put_manifest(client, REPO, sha256(lone), lone).status_code == 201
    denied(customer_client.get(f"/v2/{REPO}/manifests/{sha256(lone)}"))


def test_warm_customer_reads_cost_at_most_two_queries(customer_client, pull_secret, pushed):
    token = customer_client.get(
        "/v2/token", {"service": "127.0.0.1:8000", "scope": f"repository:{REPO}:pull"}
    ).json()["token"]
    bearer = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert bearer.get(f"/v2/{REPO}/manifests/1.0").status_code == 200  # warm the caches
    for path in (f"/v2/{REPO}/manifests/1.1", f"/v2/{REPO}/blobs/{pushed['base']}"):
        with CaptureQueriesContext(connection) as queries:
            assert bearer.get(path).status_code == 200
        assert len(request_queries(queries)) <= 2, request_queries(queries)


def test_index_children_come_with_an_entitled_index(client, customer_client, pushed):
    def index_of(tag: str, label: bytes) -> tuple[bytes, list[str]]:
        children = []
        for arch in ("amd64", "arm64"):
            raw, _ = image(client, {"digest": pushed["base"], "size": 17}, label + arch.encode())
            assert put_manifest(client, REPO, sha256(raw), raw).status_code == 201
            children.append((raw, arch))
        index = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [
                {
                    "mediaType": OCI_MANIFEST,
                    "digest": sha256(raw),
                    "size": len(raw),
                    "platform": {"architecture": arch, "os": "linux"},
                }
                for raw, arch in children
            ],
        }
        raw = json.dumps(index).encode()
        media_type = "application/vnd.oci.image.index.v1+json"
        assert put_manifest(client, REPO, tag, raw, media_type=media_type).status_code == 201
        return raw, [sha256(child) for child, _ in children]

    entitled, entitled_children = index_of("1.2", b"multi 1.2 ")
    _, other_children = index_of("2.1", b"multi 2.1 ")
    assert customer_client.get(f"/v2/{REPO}/manifests/1.2").content == entitled
    for digest in entitled_children:
        assert customer_client.get(f"/v2/{REPO}/manifests/{digest}").status_code == 200
    for digest in other_children:
        denied(customer_client.get(f"/v2/{REPO}/manifests/{digest}"), "not covered")
