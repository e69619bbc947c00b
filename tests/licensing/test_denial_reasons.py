"""Which reason a customer reads when several licenses could apply: the state of the
license that would have covered the request if it were active, for a tag, a digest and a
blob; and the same reason in a `Warning` header, so clients that only send HEAD see it."""

import datetime

import pytest
from django.test import Client

from licensing.services import license_set_status, license_update
from tests.conftest import basic, license_grant
from tests.support.licensing import REPO, denied, not_covered, push_scenario

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_licenses(client, customer, pull_secret):
    pushed = push_scenario(client)
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
