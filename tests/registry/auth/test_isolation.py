"""Tenant isolation over Basic credentials: a vendor's push token works in its namespace
only, a customer's pull token reads its vendor's repositories only, anonymous callers get
the Bearer challenge (and public repositories), narrowed push tokens stay narrow."""

import json
import re

import jwt
import pytest
from django.conf import settings
from django.test import Client

from customers.services import token_mint, vendor_create
from registry.models import Manifest, Repository, RepositoryBlob
from tests.conftest import basic, license_grant
from tests.support.registry_client import errors, image_manifest, put_manifest, sha256

pytestmark = pytest.mark.django_db
CHALLENGE = f'Bearer realm="http://127.0.0.1:8000/v2/token",service="{settings.REGISTRY_SERVICE}"'


def as_token(secret: str) -> Client:
    return Client(HTTP_AUTHORIZATION=basic(secret))


def push_image(client, repo: str, tag: str = "v1") -> dict:
    """Push an image; returns its manifest digest and its first layer's digest."""
    manifest, raw = image_manifest(client, repo)
    assert put_manifest(client, repo, tag, raw).status_code == 201
    return {"manifest": sha256(raw), "layer": manifest["layers"][0]["digest"], "raw": raw}


def assert_denied(response):
    assert response.status_code == 403, response.content
    if response.content:  # HEAD has no body
        assert errors(response) == ["DENIED"]
    assert "WWW-Authenticate" not in response


def assert_challenge(response, scope: str | None):
    assert response.status_code == 401, response.content
    if response.content:
        assert errors(response) == ["UNAUTHORIZED"]
    expected = CHALLENGE + (f',scope="{scope}"' if scope else "")
    assert response["WWW-Authenticate"] == expected


@pytest.fixture
def acme(client):
    return client


@pytest.fixture
def initech():
    vendor, _ = vendor_create(slug="initech", name="Initech")
    return as_token(token_mint(vendor=vendor, kind="push", name="initech CI").secret)


@pytest.fixture
def images(acme, initech):
    return {"acme": push_image(acme, "acme/app"), "initech": push_image(initech, "initech/app")}


@pytest.fixture
def customer_client(pull_secret) -> Client:
    return as_token(pull_secret)


# --- vendor against vendor ------------------------------------------------------------


def test_each_vendor_reads_its_own(acme, initech, images):
    for client, repo, image in (
        (acme, "acme/app", images["acme"]),
        (initech, "initech/app", images["initech"]),
    ):
        response = client.get(f"/v2/{repo}/manifests/v1")
        assert response.status_code == 200
        assert response["Docker-Content-Digest"] == image["manifest"]
        assert client.head(f"/v2/{repo}/blobs/{image['layer']}").status_code == 200


def test_cannot_push_into_another_vendors_repository(acme, images):
    data = b"acme was here"
    assert_denied(
        acme.post(
            f"/v2/initech/app/blobs/uploads/?digest={sha256(data)}",
            data=data,
            content_type="application/octet-stream",
        )
    )
    assert_denied(acme.post("/v2/initech/app/blobs/uploads/"))
    assert_denied(put_manifest(acme, "initech/app", "v1", images["acme"]["raw"]))
    assert_denied(put_manifest(acme, "initech/new", "v1", images["acme"]["raw"]))
    assert not Repository.objects.filter(name="initech/new").exists()
    assert Manifest.objects.filter(repository__name="initech/app").count() == 1


def test_cannot_pull_another_vendors_manifest_or_blob(acme, images):
    initech = images["initech"]
    for reference in ("v1", initech["manifest"]):
        assert_denied(acme.get(f"/v2/initech/app/manifests/{reference}"))
        assert_denied(acme.head(f"/v2/initech/app/manifests/{reference}"))
    assert_denied(acme.get(f"/v2/initech/app/blobs/{initech['layer']}"))
    assert_denied(acme.head(f"/v2/initech/app/blobs/{initech['layer']}"))
    assert_denied(acme.get(f"/v2/initech/app/referrers/{initech['manifest']}"))


def test_denial_does_not_reveal_whether_a_repository_exists(acme, images):
    existing = acme.get("/v2/initech/app/tags/list")
    missing = acme.get("/v2/initech/nothing-here/tags/list")
    assert_denied(existing)
    assert_denied(missing)
    assert existing.json()["errors"][0]["code"] == missing.json()["errors"][0]["code"]


def test_cannot_list_another_vendors_tags(acme, images):
    assert_denied(acme.get("/v2/initech/app/tags/list"))


def test_catalog_shows_only_own_repositories(acme, initech, images):
    assert acme.get("/v2/_catalog").json() == {"repositories": ["acme/app"]}
    assert initech.get("/v2/_catalog").json() == {"repositories": ["initech/app"]}


def test_mount_from_another_vendor_falls_back_to_an_upload(acme, images):
    layer = images["initech"]["layer"]
    response = acme.post(f"/v2/acme/app/blobs/uploads/?mount={layer}&from=initech/app")
    assert response.status_code == 202
    assert response["Location"].startswith("/v2/acme/app/blobs/uploads/")
    head = acme.head(f"/v2/acme/app/blobs/{layer}")
    assert head.status_code == 404
    assert not RepositoryBlob.objects.filter(repository__name="acme/app", blob_id=layer).exists()


def test_mount_within_own_namespace_works(acme, images):
    """The control for the test above: the same request from an allowed source mounts."""
    layer = images["acme"]["layer"]
    response = acme.post(f"/v2/acme/copy/blobs/uploads/?mount={layer}&from=acme/app")
    assert response.status_code == 201
    assert acme.head(f"/v2/acme/copy/blobs/{layer}").status_code == 200


def test_cannot_delete_another_vendors_manifest_tag_or_blob(acme, images):
    initech = images["initech"]
    assert_denied(acme.delete(f"/v2/initech/app/manifests/{initech['manifest']}"))
    assert_denied(acme.delete("/v2/initech/app/manifests/v1"))
    assert_denied(acme.delete(f"/v2/initech/app/blobs/{initech['layer']}"))
    assert Manifest.objects.filter(digest=initech["manifest"]).exists()
    assert RepositoryBlob.objects.filter(
        repository__name="initech/app", blob_id=initech["layer"]
    ).exists()


def test_cannot_use_another_vendors_upload_session(acme, initech, images):
    started = initech.post("/v2/initech/app/blobs/uploads/")
    assert started.status_code == 202
    location = started["Location"]
    upload_id = location.rsplit("/", 1)[1]
    assert_denied(acme.get(location))
    assert_denied(acme.patch(location, data=b"evil", content_type="application/octet-stream"))
    assert_denied(acme.put(f"{location}?digest={sha256(b'evil')}", data=b"evil"))
    assert_denied(acme.delete(location))
    # the same session id under acme's own name is unknown there
    response = acme.get(f"/v2/acme/app/blobs/uploads/{upload_id}")
    assert response.status_code == 404
    assert errors(response) == ["BLOB_UPLOAD_UNKNOWN"]
    assert initech.get(location).status_code == 204  # untouched


# --- a customer's pull token ----------------------------------------------------------


def test_customer_pulls_its_vendors_repositories(customer_client, images, customer):
    from tests.conftest import license_grant

    license_grant(customer, "acme/app")
    acme = images["acme"]
    response = customer_client.get("/v2/acme/app/manifests/v1")
    assert response.status_code == 200
    assert response["Docker-Content-Digest"] == acme["manifest"]
    blob = customer_client.get(f"/v2/acme/app/blobs/{acme['layer']}")
    assert blob.status_code == 200
    assert blob["Docker-Content-Digest"] == acme["layer"]
    assert customer_client.get("/v2/acme/app/tags/list").json()["tags"] == ["v1"]
    assert customer_client.get("/v2/_catalog").json() == {"repositories": ["acme/app"]}


def test_customer_cannot_push_or_delete(customer_client, images):
    data = b"customer"
    assert_denied(
        customer_client.post(
            f"/v2/acme/app/blobs/uploads/?digest={sha256(data)}",
            data=data,
            content_type="application/octet-stream",
        )
    )
    assert_denied(put_manifest(customer_client, "acme/app", "v2", images["acme"]["raw"]))
    assert_denied(customer_client.delete(f"/v2/acme/app/manifests/{images['acme']['manifest']}"))
    assert_denied(customer_client.delete(f"/v2/acme/app/blobs/{images['acme']['layer']}"))
    assert Manifest.objects.filter(digest=images["acme"]["manifest"]).exists()


def test_customer_cannot_touch_another_vendor(customer_client, images):
    initech = images["initech"]
    assert_denied(customer_client.get("/v2/initech/app/manifests/v1"))
    assert_denied(customer_client.get(f"/v2/initech/app/blobs/{initech['layer']}"))
    assert_denied(customer_client.get("/v2/initech/app/tags/list"))
    assert_denied(customer_client.delete(f"/v2/initech/app/manifests/{initech['manifest']}"))


# --- anonymous ------------------------------------------------------------------------


def test_anonymous_base_gets_the_challenge(anonymous_client):
    response = anonymous_client.get("/v2/")
    assert_challenge(response, None)
    assert response["Docker-Distribution-API-Version"] == "registry/2.0"


def test_anonymous_pull_of_private_repository_is_challenged(anonymous_client, images):
    assert_challenge(anonymous_client.get("/v2/acme/app/manifests/v1"), "repository:acme/app:pull")
    assert_challenge(anonymous_client.head("/v2/acme/app/manifests/v1"), "repository:acme/app:pull")
    layer = images["acme"]["layer"]
    assert_challenge(
        anonymous_client.get(f"/v2/acme/app/blobs/{layer}"), "repository:acme/app:pull"
    )
    # a blob HEAD (the check before an upload) asks for what the push will need; see
    # test_blob_head_challenge_asks_for_the_push_and_the_token_endpoint_intersects
    assert_challenge(
        anonymous_client.head(f"/v2/acme/app/blobs/{layer}"), "repository:acme/app:pull,push"
    )
    assert_challenge(anonymous_client.get("/v2/acme/app/tags/list"), "repository:acme/app:pull")


def bearer_for_challenge(response, secret: str | None) -> tuple[Client, list]:
    """Do what a client does with a challenge: GET the realm with its service and scope
    (Basic credentials, or none); returns a client sending the JWT and its access claim."""
    params = dict(re.findall(r'(\w+)="([^"]*)"', response["WWW-Authenticate"]))
    headers = {"HTTP_AUTHORIZATION": basic(secret)} if secret else {}
    answer = Client().get(
        "/v2/token", {"service": params["service"], "scope": params["scope"]}, **headers
    )
    assert answer.status_code == 200, answer.content
    token = answer.json()["token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}"), claims["access"]


def test_blob_head_challenge_asks_for_the_push_and_the_token_endpoint_intersects(
    anonymous_client, images, push_secret, pull_secret, customer
):
    """oras-py fetches one token at its first challenge (a blob HEAD, when it pushes) and
    re-sends it to every later challenge; so that token must already cover the push. The
    challenge only asks: each principal still gets what it holds and no more."""
    layer = images["acme"]["layer"]
    blob = f"/v2/acme/app/blobs/{layer}"
    challenge = anonymous_client.head(blob)
    assert_challenge(challenge, "repository:acme/app:pull,push")

    pusher, granted = bearer_for_challenge(challenge, push_secret)
    assert granted == [{"type": "repository", "name": "acme/app", "actions": ["pull", "push"]}]
    assert pusher.head(blob).status_code == 200
    start = pusher.post("/v2/acme/app/blobs/uploads/")
    assert start.status_code == 202, start.content

    license_grant(customer, "acme/app")
    reader, granted = bearer_for_challenge(challenge, pull_secret)
    assert granted == [{"type": "repository", "name": "acme/app", "actions": ["pull"]}]
    assert reader.head(blob).status_code == 200
    assert reader.post("/v2/acme/app/blobs/uploads/").status_code == 401

    nobody, granted = bearer_for_challenge(challenge, None)
    assert granted == [{"type": "repository", "name": "acme/app", "actions": []}]
    assert nobody.head(blob).status_code == 401

    # a JWT that does not cover the blob's repository is challenged the same way
    head = pusher.head(f"/v2/initech/app/blobs/{images['initech']['layer']}")
    assert head.status_code == 401
    assert head["WWW-Authenticate"] == (
        CHALLENGE + ',scope="repository:initech/app:pull,push",error="insufficient_scope"'
    )


def test_anonymous_pulls_a_public_repository(anonymous_client, images):
    Repository.objects.filter(name="acme/app").update(is_public=True)
    response = anonymous_client.get("/v2/acme/app/manifests/v1")
    assert response.status_code == 200
    assert response["Docker-Content-Digest"] == images["acme"]["manifest"]
    assert anonymous_client.get(f"/v2/acme/app/blobs/{images['acme']['layer']}").status_code == 200
    # public means readable, not writable
    assert_challenge(
        put_manifest(anonymous_client, "acme/app", "v2", images["acme"]["raw"]),
        "repository:acme/app:pull,push",
    )
    assert_challenge(
        anonymous_client.delete(f"/v2/acme/app/manifests/{images['acme']['manifest']}"),
        "repository:acme/app:delete",
    )


def test_public_repository_of_another_vendor_is_readable_not_writable(acme, images):
    Repository.objects.filter(name="initech/app").update(is_public=True)
    assert acme.get("/v2/initech/app/manifests/v1").status_code == 200
    assert_denied(put_manifest(acme, "initech/app", "v2", images["acme"]["raw"]))
    assert acme.get("/v2/_catalog").json() == {"repositories": ["acme/app", "initech/app"]}


def test_anonymous_catalog_is_challenged(anonymous_client, images):
    assert_challenge(anonymous_client.get("/v2/_catalog"), "registry:catalog:*")


# --- a narrowed push token ------------------------------------------------------------


@pytest.fixture
def narrowed(vendor) -> Client:
    secret = token_mint(
        vendor=vendor,
        kind="push",
        name="app only",
        repository_patterns=["app"],
        actions=["pull", "push"],
    ).secret
    return as_token(secret)


def test_narrowed_token_pushes_its_repository_only(narrowed):
    image = push_image(narrowed, "acme/app")
    assert narrowed.get("/v2/acme/app/manifests/v1").status_code == 200
    data = json.dumps({"n": 1}).encode()
    assert_denied(
        narrowed.post(
            f"/v2/acme/other/blobs/uploads/?digest={sha256(data)}",
            data=data,
            content_type="application/octet-stream",
        )
    )
    assert_denied(put_manifest(narrowed, "acme/other", "v1", image["raw"]))
    assert_denied(narrowed.get("/v2/acme/other/tags/list"))
    assert not Repository.objects.filter(name="acme/other").exists()


def test_narrowed_token_cannot_delete(narrowed):
    image = push_image(narrowed, "acme/app")
    assert_denied(narrowed.delete(f"/v2/acme/app/manifests/{image['manifest']}"))
    assert_denied(narrowed.delete(f"/v2/acme/app/blobs/{image['layer']}"))
    assert Manifest.objects.filter(digest=image["manifest"]).exists()


def test_narrowed_token_catalog_lists_only_its_repositories(narrowed, acme):
    push_image(acme, "acme/other")
    push_image(narrowed, "acme/app")
    assert narrowed.get("/v2/_catalog").json() == {"repositories": ["acme/app"]}


@pytest.mark.django_db
def test_repository_of_a_renamed_vendor_stays_its_own(client, vendor):
    """Ownership is the repository's vendor, not just its name prefix: a new vendor that
    takes a freed slug cannot write into the repositories pushed under it before."""
    from customers.models import Vendor
    from customers.services import token_mint, vendor_create
    from tests.conftest import basic
    from tests.support.registry_client import image_manifest, put_manifest

    _, raw = image_manifest(client, "acme/app")
    assert put_manifest(client, "acme/app", "v1", raw).status_code == 201
    Vendor.objects.filter(pk=vendor.pk).update(slug="acme-old")  # e.g. a shell rename
    squatter, _ = vendor_create(slug="acme")
    other = Client(
        HTTP_AUTHORIZATION=basic(token_mint(vendor=squatter, kind="push", name="x").secret)
    )
    start = other.post("/v2/acme/app/blobs/uploads/")
    assert start.status_code == 403
    assert [e["code"] for e in start.json()["errors"]] == ["DENIED"]
    push_blob_response = other.post(
        "/v2/acme/app/blobs/uploads/?digest=sha256:" + "0" * 64, data=b"", content_type="x/y"
    )
    assert push_blob_response.status_code == 403
    assert put_manifest(other, "acme/app", "v2", raw).status_code == 403
