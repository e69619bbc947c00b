"""What a license refuses, and the reason the customer reads (the scenario of
tests/support/licensing.py): globex holds 'Support 1.x' (`glob:1.*` on acme/app) and
tries to get around it. Every answer is asserted: status, OCI error code and the exact
message; the reason also travels in a `Warning` header for HEAD requests. What a license
entitles is in test_entitlement_rules.py."""

import datetime
import json

import pytest
from django.test import Client

from core.changes import customer_changed
from customers.services import token_mint, vendor_create
from licensing.models import License
from licensing.services import (
    grant_add,
    license_create,
    license_set_status,
    license_suspend,
    license_update,
)
from registry.models import Repository
from tests.conftest import basic, license_grant
from tests.support.licensing import LICENSE, REPO, denied, image, not_covered, put
from tests.support.registry_client import push_blob, put_manifest

pytestmark = pytest.mark.django_db


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
    denied(globex.delete(f"/v2/{REPO}/manifests/1.0"), "pull token may not delete acme/app")
    denied(
        globex.post(
            f"/v2/{REPO}/blobs/uploads/", data=b"", content_type="application/octet-stream"
        ),
        "pull token may not push acme/app",
    )
    assert not Repository.objects.filter(name="acme/mirror").exists()


# --- license state --------------------------------------------------------------------


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


# --- which license the reason names ---------------------------------------------------


@pytest.fixture
def two_licenses(customer, pushed, pull_secret):
    license_grant(customer, REPO, "glob:1.*", name="Support 1.x")
    second = license_grant(customer, REPO, "glob:2.*", name="Support 2.x")
    return pushed, second, Client(HTTP_AUTHORIZATION=basic(pull_secret))


def every_2_0_read(globex, pushed):
    two = pushed["2.0"]
    yield globex.get(f"/v2/{REPO}/manifests/2.0")
    yield globex.get(f"/v2/{REPO}/manifests/{two['digest']}")
    yield globex.get(f"/v2/{REPO}/blobs/{two['own']}")


def test_a_suspended_license_is_named_beside_an_active_one(two_licenses):
    pushed, second, globex = two_licenses
    assert globex.get(f"/v2/{REPO}/manifests/2.0").status_code == 200
    license_set_status(license=second, status="suspended")
    for response in every_2_0_read(globex, pushed):
        denied(response, "license 'Support 2.x' is suspended")
    assert globex.get(f"/v2/{REPO}/manifests/1.0").status_code == 200  # the other one


def test_an_expired_license_is_named_beside_an_active_one(two_licenses):
    pushed, second, globex = two_licenses
    today = datetime.date.today()
    start, end = today - datetime.timedelta(days=30), today - datetime.timedelta(days=1)
    license_update(license=second, name=second.name, valid_from=start, valid_until=end)
    for response in every_2_0_read(globex, pushed):
        denied(response, f"license 'Support 2.x' expired on {end.isoformat()}")


def test_a_tag_no_license_would_cover_is_still_not_covered(two_licenses):
    _, second, globex = two_licenses
    license_set_status(license=second, status="suspended")
    denied(globex.get(f"/v2/{REPO}/manifests/3.0"), not_covered("tag '3.0'"))


def test_the_reason_travels_in_a_warning_header_for_head_requests(two_licenses):
    _, second, globex = two_licenses
    license_set_status(license=second, status="suspended")
    response = globex.head(f"/v2/{REPO}/manifests/2.0")
    assert response.status_code == 403 and response.content == b""
    assert response["Warning"] == "299 - \"license 'Support 2.x' is suspended\""


# --- other customers, other vendors ---------------------------------------------------


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
