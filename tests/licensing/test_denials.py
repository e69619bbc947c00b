"""A customer trying to get around its license (the issue's scenario).

globex holds license 'Support 1.x' for acme/app with `glob:1.*`; acme pushed 1.0, 1.1 and
2.0 (2.0 with a layer of its own and a base layer shared with 1.x) and a signature on 1.1
and on 2.0. Every answer is asserted: status, OCI error code and the exact message."""

import datetime
import json

import pytest
from django.test import Client

from customers.services import customer_create, token_mint, vendor_create
from licensing.models import License
from licensing.services import grant_add, license_create, license_suspend
from registry.changes import customer_changed
from registry.models import Repository
from tests.conftest import basic, license_grant
from tests.support.licensing import (
    REPO,
    SIG,
    denied,
    image,
    not_covered,
    push_scenario,
    put,
)
from tests.support.registry_client import image_manifest, push_blob, put_manifest

pytestmark = pytest.mark.django_db

LICENSE = "Support 1.x"


@pytest.fixture
def pushed(client):
    return push_scenario(client)


@pytest.fixture
def license(customer, pushed):
    return license_grant(customer, REPO, "glob:1.*", name=LICENSE)


@pytest.fixture
def globex(license, pull_secret) -> Client:
    return Client(HTTP_AUTHORIZATION=basic(pull_secret))


def sig_payload(client, sig_digest: str) -> str:
    """The payload layer of a signature manifest (read by the vendor)."""
    manifest = json.loads(client.get(f"/v2/{REPO}/manifests/{sig_digest}").content)
    return manifest["layers"][0]["digest"]


# --- the entitled part ----------------------------------------------------------------


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


# --- the unentitled release -----------------------------------------------------------


def test_2_0_by_tag_is_denied_with_the_tag_named(globex, pushed):
    denied(globex.get(f"/v2/{REPO}/manifests/2.0"), not_covered("tag '2.0'"))
    head = globex.head(f"/v2/{REPO}/manifests/2.0")
    assert head.status_code == 403
    assert head.content == b""


def test_2_0_by_digest_is_denied(globex, pushed):
    digest = pushed["2.0"]["digest"]
    denied(globex.get(f"/v2/{REPO}/manifests/{digest}"), not_covered(f"manifest {digest}"))
    assert globex.head(f"/v2/{REPO}/manifests/{digest}").status_code == 403


def test_2_0_own_layer_and_config_are_denied(client, globex, pushed):
    own = pushed["2.0"]["own"]
    denied(globex.get(f"/v2/{REPO}/blobs/{own}"), not_covered(f"blob {own}"))
    assert globex.head(f"/v2/{REPO}/blobs/{own}").status_code == 403
    assert globex.get(f"/v2/{REPO}/blobs/{own}", HTTP_RANGE="bytes=0-3").status_code == 403
    config = json.loads(pushed["2.0"]["raw"])["config"]["digest"]
    denied(globex.get(f"/v2/{REPO}/blobs/{config}"), not_covered(f"blob {config}"))
    assert client.get(f"/v2/{REPO}/blobs/{own}").status_code == 200  # it exists


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


def test_tag_list_shows_only_covered_tags(client, globex, pushed):
    response = globex.get(f"/v2/{REPO}/tags/list")
    assert response.status_code == 200
    assert response.json() == {"name": REPO, "tags": ["1.0", "1.1"]}
    page = globex.get(f"/v2/{REPO}/tags/list?n=1")
    assert page.json() == {"name": REPO, "tags": ["1.0"]}
    assert page["Link"] == f'</v2/{REPO}/tags/list?n=1&last=1.0>; rel="next"'
    assert globex.get(f"/v2/{REPO}/tags/list?n=1&last=1.0").json()["tags"] == ["1.1"]
    assert client.get(f"/v2/{REPO}/tags/list").json()["tags"] == ["1.0", "1.1", "2.0"]


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


# --- writes ---------------------------------------------------------------------------


def mount_2_0_layer(globex, pushed, target: str = "acme/mirror"):
    return globex.post(f"/v2/{target}/blobs/uploads/?mount={pushed['2.0']['own']}&from={REPO}")


def test_customer_cannot_mount_push_or_delete(globex, pushed):
    denied(mount_2_0_layer(globex, pushed), "pull token may not push acme/mirror")
    denied(mount_2_0_layer(globex, pushed, REPO), "pull token may not push acme/app")
    denied(
        put_manifest(globex, REPO, "1.9", pushed["2.0"]["raw"]), "pull token may not push acme/app"
    )
    denied(
        globex.delete(f"/v2/{REPO}/manifests/{pushed['1.0']['digest']}"),
        "pull token may not delete acme/app",
    )
    denied(
        globex.post(
            f"/v2/{REPO}/blobs/uploads/", data=b"", content_type="application/octet-stream"
        ),
        "pull token may not push acme/app",
    )
    assert not Repository.objects.filter(name="acme/mirror").exists()


# --- license state ----------------------------------------------------------------------


def every_read(globex, pushed) -> list:
    return [
        globex.get(f"/v2/{REPO}/manifests/1.0"),
        globex.get(f"/v2/{REPO}/manifests/{pushed['1.1']['digest']}"),
        globex.get(f"/v2/{REPO}/manifests/{pushed['1.1']['sig']}"),
        globex.get(f"/v2/{REPO}/blobs/{pushed['base']}"),
        globex.get(f"/v2/{REPO}/tags/list"),
        globex.get(f"/v2/{REPO}/referrers/{pushed['1.1']['digest']}"),
    ]


def test_expired_license_denies_everything_with_its_end_date(globex, license, pushed):
    assert globex.get(f"/v2/{REPO}/manifests/1.0").status_code == 200
    today = datetime.date.today()
    start, end = today - datetime.timedelta(days=400), today - datetime.timedelta(days=1)
    License.objects.filter(pk=license.pk).update(valid_from=start, valid_until=end)
    customer_changed(customer_id=license.customer_id)  # a direct update replaces none
    message = f"license '{LICENSE}' expired on {end.isoformat()}"
    for response in every_read(globex, pushed):
        denied(response, message)
    denied(mount_2_0_layer(globex, pushed), "pull token may not push acme/mirror")
    assert globex.get("/v2/_catalog").json() == {"repositories": []}


def test_expired_message_format(customer, pushed, pull_secret):
    license = license_create(
        vendor=customer.vendor,
        customer=customer,
        name="Enterprise 2026",
        valid_from=datetime.date(2026, 1, 1),
        valid_until=datetime.date(2026, 6, 30),
    )
    grant_add(license=license, repository_name=REPO, tag_rule="glob:*")
    assert datetime.date.today() > datetime.date(2026, 6, 30)
    globex = Client(HTTP_AUTHORIZATION=basic(pull_secret))
    for response in every_read(globex, pushed):
        denied(response, "license 'Enterprise 2026' expired on 2026-06-30")


def test_license_not_yet_valid(customer, pushed, pull_secret):
    start = datetime.date.today() + datetime.timedelta(days=10)
    license_grant(customer, REPO, "glob:*", name="Next year", valid_from=start)
    globex = Client(HTTP_AUTHORIZATION=basic(pull_secret))
    denied(
        globex.get(f"/v2/{REPO}/manifests/1.0"),
        f"license 'Next year' is valid from {start.isoformat()}",
    )


def test_suspended_license_denies_everything(globex, license, pushed):
    license_suspend(license=license)
    for response in every_read(globex, pushed):
        denied(response, f"license '{LICENSE}' is suspended")
    denied(mount_2_0_layer(globex, pushed), "pull token may not push acme/mirror")
    assert globex.get("/v2/_catalog").json() == {"repositories": []}


def test_an_active_license_outweighs_an_expired_one(customer, globex, pushed):
    license_grant(
        customer,
        REPO,
        "glob:*",
        name="Old everything",
        valid_from=datetime.date(2020, 1, 1),
        valid_until=datetime.date(2020, 12, 31),
    )
    assert globex.get(f"/v2/{REPO}/manifests/1.0").status_code == 200
    # 2.0 only the expired license would cover: its state is the reason
    denied(
        globex.get(f"/v2/{REPO}/manifests/2.0"), "license 'Old everything' expired on 2020-12-31"
    )


# --- other customers, other vendors -----------------------------------------------------


@pytest.fixture
def initial(vendor) -> Client:
    """Another customer of acme, with a license for another repository only."""
    customer, _ = customer_create(vendor=vendor, slug="initial", name="Initial Co")
    secret = token_mint(vendor=vendor, customer=customer, kind="pull", name="i").secret
    return Client(HTTP_AUTHORIZATION=basic(secret))


def test_another_customer_gets_no_license_and_no_names(initial, globex, pushed):
    for response in every_read(initial, pushed):
        error = denied(response, "no license of yours covers acme/app")
        text = json.dumps(error).lower()
        assert "globex" not in text and "support" not in text
    denied(initial.get(f"/v2/{REPO}/manifests/2.0"), "no license of yours covers acme/app")
    assert initial.get("/v2/_catalog").json() == {"repositories": []}


def test_unlicensed_and_missing_repositories_of_the_own_vendor_look_alike(initial, pushed):
    existing = initial.get(f"/v2/{REPO}/manifests/1.0")
    missing = initial.get("/v2/acme/nothing/manifests/1.0")
    denied(existing, "no license of yours covers acme/app")
    denied(missing, "no license of yours covers acme/nothing")
    assert existing.content == missing.content.replace(b"acme/nothing", REPO.encode())


@pytest.fixture
def initech(db) -> Client:
    vendor, _ = vendor_create(slug="initech", name="Initech")
    ci = Client(HTTP_AUTHORIZATION=basic(token_mint(vendor=vendor, kind="push", name="c").secret))
    base = push_blob(ci, "initech/app", b"initech base")
    raw, own = image(ci, base, "initech 1.0", repo="initech/app")
    put(ci, "1.0", raw, repo="initech/app")
    return {"own": own}


def test_another_vendors_repositories_exist_or_not_alike(globex, initech, pushed):
    own = initech["own"]
    for path in ("manifests/1.0", f"blobs/{own}", "tags/list", f"referrers/{pushed['base']}"):
        existing = globex.get(f"/v2/initech/app/{path}")
        missing = globex.get(f"/v2/initech/nothing/{path}")
        denied(existing, "pull token may not pull initech/app")
        denied(missing, "pull token may not pull initech/nothing")
        assert existing.content == missing.content.replace(b"initech/nothing", b"initech/app")
        assert sorted(existing.headers) == sorted(missing.headers)
        head_existing = globex.head(f"/v2/initech/app/{path}")
        head_missing = globex.head(f"/v2/initech/nothing/{path}")
        assert head_existing.status_code == head_missing.status_code == 403
    assert globex.get("/v2/_catalog").json() == {"repositories": [REPO]}


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


# --- rule kinds ---------------------------------------------------------------------------


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
