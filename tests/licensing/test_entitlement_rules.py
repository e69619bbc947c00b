"""What a license entitles a customer to (the scenario of tests/support/licensing.py):
the tags its grants' rules match (exact, glob, semver range), the manifests they point to,
the children of an entitled index, the referrers of an entitled manifest, and the blobs
those reference; tag lists and the catalog show exactly that. What is refused, and with
which reason, is in test_denials.py."""

import json

import pytest
from django.test import Client

from customers.services import customer_create
from licensing.services import grant_add, license_create, license_suspend
from registry.models import Repository
from tests.conftest import basic, license_grant
from tests.support.licensing import REPO, SIG, denied, image, not_covered, put
from tests.support.registry_client import (
    OCI_INDEX,
    OCI_MANIFEST,
    image_manifest,
    put_manifest,
    sha256,
)

pytestmark = pytest.mark.django_db


def sig_payload(client, sig_digest: str) -> str:
    """The payload layer of a signature manifest (read by the vendor)."""
    manifest = json.loads(client.get(f"/v2/{REPO}/manifests/{sig_digest}").content)
    return manifest["layers"][0]["digest"]


# --- tags, manifests and blobs --------------------------------------------------------


def test_entitled_tags_pull_by_tag_and_by_digest(globex, pushed):
    for tag in ("1.0", "1.1"):
        for reference in (tag, pushed[tag]["digest"]):
            response = globex.get(f"/v2/{REPO}/manifests/{reference}")
            assert response.status_code == 200, response.content
            assert response.content == pushed[tag]["raw"]
            assert response["Docker-Content-Digest"] == pushed[tag]["digest"]
        assert globex.head(f"/v2/{REPO}/manifests/{tag}").status_code == 200


def test_shared_base_layer_and_entitled_layers_pull(globex, pushed):
    for digest in (pushed["base"], pushed["1.0"]["own"], pushed["1.1"]["own"]):
        response = globex.get(f"/v2/{REPO}/blobs/{digest}")
        assert response.status_code == 200
        assert response["Docker-Content-Digest"] == digest
        assert globex.head(f"/v2/{REPO}/blobs/{digest}").status_code == 200
    assert b"".join(globex.get(f"/v2/{REPO}/blobs/{pushed['base']}").streaming_content) == (
        b"shared base layer " * 40
    )


def test_index_children_come_with_an_entitled_index(client, globex, pushed):
    def index_of(tag: str, label: str) -> tuple[bytes, list[str]]:
        children = []
        for arch in ("amd64", "arm64"):
            raw, _ = image(client, pushed["base_descriptor"], f"{label} {arch}")
            put(client, sha256(raw), raw)
            children.append((raw, arch))
        index = {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
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
        assert put_manifest(client, REPO, tag, raw, media_type=OCI_INDEX).status_code == 201
        return raw, [sha256(child) for child, _ in children]

    entitled, entitled_children = index_of("1.2", "multi 1.2")
    _, other_children = index_of("2.1", "multi 2.1")
    assert globex.get(f"/v2/{REPO}/manifests/1.2").content == entitled
    for digest in entitled_children:
        assert globex.get(f"/v2/{REPO}/manifests/{digest}").status_code == 200
    for digest in other_children:
        denied(globex.get(f"/v2/{REPO}/manifests/{digest}"), not_covered(f"manifest {digest}"))


# --- referrers ------------------------------------------------------------------------


def test_signatures_follow_their_subject(client, globex, pushed):
    sig_11, sig_20 = pushed["1.1"]["sig"], pushed["2.0"]["sig"]
    response = globex.get(f"/v2/{REPO}/manifests/{sig_11}")
    assert response.status_code == 200
    assert json.loads(response.content)["subject"]["digest"] == pushed["1.1"]["digest"]
    payload = sig_payload(client, sig_11)
    assert globex.get(f"/v2/{REPO}/blobs/{payload}").status_code == 200

    denied(globex.get(f"/v2/{REPO}/manifests/{sig_20}"), not_covered(f"manifest {sig_20}"))
    payload = sig_payload(client, sig_20)
    denied(globex.get(f"/v2/{REPO}/blobs/{payload}"), not_covered(f"blob {payload}"))


def test_referrers_list_only_entitled_signatures(globex, pushed):
    response = globex.get(f"/v2/{REPO}/referrers/{pushed['1.1']['digest']}")
    assert response.status_code == 200
    listed = response.json()["manifests"]
    assert [(d["digest"], d["artifactType"]) for d in listed] == [(pushed["1.1"]["sig"], SIG)]
    filtered = globex.get(f"/v2/{REPO}/referrers/{pushed['1.1']['digest']}?artifactType={SIG}")
    assert [d["digest"] for d in filtered.json()["manifests"]] == [pushed["1.1"]["sig"]]
    # 2.0: the license covers the repository, so the list is answered, but it is empty
    response = globex.get(f"/v2/{REPO}/referrers/{pushed['2.0']['digest']}")
    assert response.status_code == 200
    assert response.json()["manifests"] == []


def test_grant_without_referrers_hides_signatures(customer, pushed, pull_secret):
    license = license_create(vendor=customer.vendor, customer=customer, name="No sigs")
    grant_add(license=license, repository_name=REPO, tag_rule="glob:1.*", include_referrers=False)
    globex = Client(HTTP_AUTHORIZATION=basic(pull_secret))
    assert globex.get(f"/v2/{REPO}/manifests/1.1").status_code == 200
    sig = pushed["1.1"]["sig"]
    denied(globex.get(f"/v2/{REPO}/manifests/{sig}"), not_covered(f"manifest {sig}"))
    listed = globex.get(f"/v2/{REPO}/referrers/{pushed['1.1']['digest']}").json()
    assert listed["manifests"] == []


# --- tag lists and the catalog --------------------------------------------------------


def test_tag_list_shows_only_covered_tags(client, globex, pushed):
    response = globex.get(f"/v2/{REPO}/tags/list")
    assert response.status_code == 200
    assert response.json() == {"name": REPO, "tags": ["1.0", "1.1"]}
    page = globex.get(f"/v2/{REPO}/tags/list?n=1")
    assert page.json() == {"name": REPO, "tags": ["1.0"]}
    assert page["Link"] == f'</v2/{REPO}/tags/list?n=1&last=1.0>; rel="next"'
    assert globex.get(f"/v2/{REPO}/tags/list?n=1&last=1.0").json()["tags"] == ["1.1"]
    assert client.get(f"/v2/{REPO}/tags/list").json()["tags"] == ["1.0", "1.1", "2.0"]


def test_tag_list_and_catalog_show_only_what_is_licensed(client, globex, pushed):
    image(client, pushed["base_descriptor"], "other", repo="acme/other")  # blobs only
    assert globex.get(f"/v2/{REPO}/tags/list").json() == {"name": REPO, "tags": ["1.0", "1.1"]}
    assert globex.get("/v2/_catalog").json() == {"repositories": [REPO]}
    denied(globex.get("/v2/acme/other/tags/list"), "no license of yours covers acme/other")


def test_catalog_lists_only_repositories_with_an_active_grant(client, customer, globex, pushed):
    for repo in ("acme/other", "acme/lapsed", "acme/theirs", "acme/second"):
        _, raw = image_manifest(client, repo)
        assert put_manifest(client, repo, "1.0", raw).status_code == 201
    license_grant(customer, "acme/second", "exact:1.0", name="Second")
    lapsed = license_grant(customer, "acme/lapsed", "glob:*", name="Lapsed")
    license_suspend(license=lapsed)
    initial, _ = customer_create(vendor=customer.vendor, slug="initial", name="Initial")
    license_grant(initial, "acme/theirs", "glob:*", name="Theirs")
    response = globex.get("/v2/_catalog")
    assert response.status_code == 200
    assert response.json() == {"repositories": ["acme/app", "acme/second"]}
    page = globex.get("/v2/_catalog?n=1")
    assert page.json() == {"repositories": ["acme/app"]}
    assert page["Link"] == '</v2/_catalog?n=1&last=acme%2Fapp>; rel="next"'


def test_customer_reads_what_anonymous_reads_in_a_public_repository(
    client, anonymous_client, initial
):
    """A public repository of the customer's own vendor: anonymous callers pull it, so a
    customer logged in with its pull token (and no license for it) must too."""
    _, raw = image_manifest(client, "acme/public")
    put(client, "1.0", raw, repo="acme/public")
    Repository.objects.filter(name="acme/public").update(is_public=True)
    assert anonymous_client.get("/v2/acme/public/manifests/1.0").status_code == 200
    response = initial.get("/v2/acme/public/manifests/1.0")
    assert response.status_code == 200, response.content
    layer = json.loads(raw)["layers"][0]["digest"]
    assert initial.get(f"/v2/acme/public/blobs/{layer}").status_code == 200
    tags = anonymous_client.get("/v2/acme/public/tags/list").json()
    assert (
        initial.get("/v2/acme/public/tags/list").json()
        == tags
        == {
            "name": "acme/public",
            "tags": ["1.0"],
        }
    )
    denied(put_manifest(initial, "acme/public", "1.1", raw), "pull token may not push acme/public")


# --- rule kinds -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "rule, allowed, refused",
    [("semver:>=2.0,<3", "2.0", "1.1"), ("exact:1.0", "1.0", "1.1"), ("glob:2.*", "2.0", "1.0")],
)
def test_rule_kinds(customer, pushed, pull_secret, rule, allowed, refused):
    license_grant(customer, REPO, rule)
    globex = Client(HTTP_AUTHORIZATION=basic(pull_secret))
    assert globex.get(f"/v2/{REPO}/manifests/{allowed}").status_code == 200
    denied(globex.get(f"/v2/{REPO}/manifests/{refused}"), not_covered(f"tag '{refused}'"))


def test_semver_range_covers_2_0_not_1_1(customer, pushed, pull_secret):
    license_grant(customer, REPO, "semver:>=2.0,<3", name="Two")
    globex = Client(HTTP_AUTHORIZATION=basic(pull_secret))
    assert globex.get(f"/v2/{REPO}/manifests/2.0").content == pushed["2.0"]["raw"]
    assert globex.get(f"/v2/{REPO}/blobs/{pushed['2.0']['own']}").status_code == 200
    assert globex.get(f"/v2/{REPO}/manifests/{pushed['2.0']['sig']}").status_code == 200
    denied(globex.get(f"/v2/{REPO}/manifests/1.1"), not_covered("tag '1.1'"))
    digest = pushed["1.1"]["digest"]
    denied(globex.get(f"/v2/{REPO}/manifests/{digest}"), not_covered(f"manifest {digest}"))
    own = pushed["1.1"]["own"]
    denied(globex.get(f"/v2/{REPO}/blobs/{own}"), not_covered(f"blob {own}"))
    assert globex.get(f"/v2/{REPO}/tags/list").json()["tags"] == ["2.0"]


def test_exact_rule_covers_only_its_tag(customer, pushed, pull_secret):
    license_grant(customer, REPO, "exact:1.0", name="One")
    globex = Client(HTTP_AUTHORIZATION=basic(pull_secret))
    assert globex.get(f"/v2/{REPO}/manifests/1.0").status_code == 200
    assert globex.get(f"/v2/{REPO}/blobs/{pushed['1.0']['own']}").status_code == 200
    for tag in ("1.1", "2.0", "1.0.0", "1"):
        denied(globex.get(f"/v2/{REPO}/manifests/{tag}"), not_covered(f"tag '{tag}'"))
    own = pushed["1.1"]["own"]
    denied(globex.get(f"/v2/{REPO}/blobs/{own}"), not_covered(f"blob {own}"))
    assert globex.get(f"/v2/{REPO}/tags/list").json()["tags"] == ["1.0"]
