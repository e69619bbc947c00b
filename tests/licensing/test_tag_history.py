"""Tag history (a digest pinned under an entitled tag keeps pulling after the tag moves) and
invalidation of cached entitlements (tag moves, grant and license changes take effect on
the next request, not after a TTL).

Generations are bumped on commit, so tests that change something after a warm decision
run with real commits (transaction=True)."""

import datetime

import pytest
from django.test import Client
from django.utils import timezone

from core.changes import repository_changed
from licensing.models import License, LicenseGrant
from licensing.services import (
    grant_add,
    grant_remove,
    license_create,
    license_set_status,
    license_suspend,
)
from registry.models import TagHistory
from tests.conftest import basic, license_grant
from tests.support.licensing import LICENSE, REPO, denied, image, not_covered, put
from tests.support.registry_client import errors, sha256

committed = pytest.mark.django_db(transaction=True)


def move_tag(client, pushed, tag: str, label: str) -> tuple[bytes, str, str]:
    """The vendor pushes a rebuilt image under `tag`; (raw, digest, own layer)."""
    raw, own = image(client, pushed["base_descriptor"], label)
    return raw, put(client, tag, raw), own


# --- tag history ------------------------------------------------------------------------


@committed
def test_a_pinned_digest_keeps_pulling_after_the_tag_moves(client, globex, pushed):
    old = pushed["1.1"]["digest"]
    assert globex.get(f"/v2/{REPO}/manifests/{old}").status_code == 200  # warm decision
    raw, new, own = move_tag(client, pushed, "1.1", "1.1 rebuilt")
    assert new != old
    response = globex.get(f"/v2/{REPO}/manifests/{old}")
    assert response.status_code == 200
    assert response.content == pushed["1.1"]["raw"]
    assert globex.get(f"/v2/{REPO}/blobs/{pushed['1.1']['own']}").status_code == 200
    response = globex.get(f"/v2/{REPO}/manifests/{new}")
    assert response.status_code == 200
    assert response.content == raw
    assert globex.get(f"/v2/{REPO}/manifests/1.1").content == raw
    # the rebuilt image's new layer is pullable at once: no TTL wait
    assert globex.get(f"/v2/{REPO}/blobs/{own}").status_code == 200


@committed
def test_a_deleted_tag_leaves_its_pinned_digest_pullable(client, globex, pushed):
    old = pushed["1.1"]["digest"]
    assert globex.get(f"/v2/{REPO}/manifests/1.1").status_code == 200
    assert client.delete(f"/v2/{REPO}/manifests/1.1").status_code == 202
    assert globex.get(f"/v2/{REPO}/manifests/{old}").status_code == 200
    gone = globex.get(f"/v2/{REPO}/manifests/1.1")
    assert gone.status_code == 404
    assert errors(gone) == ["MANIFEST_UNKNOWN"]
    assert globex.get(f"/v2/{REPO}/tags/list").json()["tags"] == ["1.0"]


@pytest.mark.django_db
def test_digests_never_under_an_entitled_tag_are_denied(client, globex, pushed):
    digest = pushed["2.0"]["digest"]
    denied(globex.get(f"/v2/{REPO}/manifests/{digest}"), not_covered(f"manifest {digest}"))
    lone, own = image(client, pushed["base_descriptor"], "pushed by digest only")
    put(client, sha256(lone), lone)
    denied(
        globex.get(f"/v2/{REPO}/manifests/{sha256(lone)}"),
        not_covered(f"manifest {sha256(lone)}"),
    )
    denied(globex.get(f"/v2/{REPO}/blobs/{own}"), not_covered(f"blob {own}"))
    # tagged, but only under a tag the license does not cover
    raw, other = image(client, pushed["base_descriptor"], "2.1")
    put(client, "2.1", raw)
    denied(
        globex.get(f"/v2/{REPO}/manifests/{sha256(raw)}"), not_covered(f"manifest {sha256(raw)}")
    )
    denied(globex.get(f"/v2/{REPO}/blobs/{other}"), not_covered(f"blob {other}"))


@pytest.mark.django_db
def test_uncovered_tags_look_alike_whether_they_exist_or_not(globex, pushed):
    denied(globex.get(f"/v2/{REPO}/manifests/2.0"), not_covered("tag '2.0'"))
    denied(globex.get(f"/v2/{REPO}/manifests/2.9"), not_covered("tag '2.9'"))
    missing = globex.get(f"/v2/{REPO}/manifests/1.9")  # covered, just not there
    assert missing.status_code == 404
    assert errors(missing) == ["MANIFEST_UNKNOWN"]


@pytest.mark.django_db
def test_a_digest_tagged_before_the_license_started_is_denied(client, globex, license, pushed):
    old = pushed["1.1"]["digest"]
    move_tag(client, pushed, "1.1", "1.1 rebuilt")
    # the old 1.1 was under the tag from 400 to 300 days ago; the license started today
    now = timezone.now()
    TagHistory.objects.filter(tag="1.1", digest=old).update(
        since=now - datetime.timedelta(days=400), until=now - datetime.timedelta(days=300)
    )
    assert license.valid_from == datetime.date.today()
    repository_changed(repository_name=REPO)  # a direct update replaces no generation
    denied(globex.get(f"/v2/{REPO}/manifests/{old}"), not_covered(f"manifest {old}"))
    assert globex.get(f"/v2/{REPO}/manifests/1.1").status_code == 200


# --- invalidation -----------------------------------------------------------------------


@committed
def test_grant_added_and_removed_take_effect_on_the_next_request(globex, license, pushed):
    denied(globex.get(f"/v2/{REPO}/manifests/2.0"), not_covered("tag '2.0'"))
    grant = grant_add(license=license, repository_name=REPO, tag_rule="semver:>=2,<3")
    assert globex.get(f"/v2/{REPO}/manifests/2.0").status_code == 200
    assert globex.get(f"/v2/{REPO}/blobs/{pushed['2.0']['own']}").status_code == 200
    assert globex.get(f"/v2/{REPO}/tags/list").json()["tags"] == ["1.0", "1.1", "2.0"]
    grant_remove(grant=grant)
    denied(globex.get(f"/v2/{REPO}/manifests/2.0"), not_covered("tag '2.0'"))
    own = pushed["2.0"]["own"]
    denied(globex.get(f"/v2/{REPO}/blobs/{own}"), not_covered(f"blob {own}"))
    grant_remove(grant=LicenseGrant.objects.get(license=license))
    denied(globex.get(f"/v2/{REPO}/manifests/1.0"), "no license of yours covers acme/app")
    assert globex.get("/v2/_catalog").json() == {"repositories": []}


@committed
def test_suspension_and_reactivation_take_effect_on_the_next_request(globex, license, pushed):
    assert globex.get(f"/v2/{REPO}/manifests/1.0").status_code == 200
    assert globex.get(f"/v2/{REPO}/blobs/{pushed['base']}").status_code == 200
    license_suspend(license=license)
    denied(globex.get(f"/v2/{REPO}/manifests/1.0"), f"license '{LICENSE}' is suspended")
    denied(globex.get(f"/v2/{REPO}/blobs/{pushed['base']}"), f"license '{LICENSE}' is suspended")
    license_set_status(license=license, status=License.Status.ACTIVE)
    assert globex.get(f"/v2/{REPO}/manifests/1.0").status_code == 200


@committed
def test_a_new_license_takes_effect_on_the_next_request(customer, pull_secret, pushed):
    globex = Client(HTTP_AUTHORIZATION=basic(pull_secret))
    denied(globex.get(f"/v2/{REPO}/manifests/1.0"), "no license of yours covers acme/app")
    license = license_create(vendor=customer.vendor, customer=customer, name="Fresh")
    denied(globex.get(f"/v2/{REPO}/manifests/1.0"), "no license of yours covers acme/app")
    grant_add(license=license, repository_name=REPO, tag_rule="exact:1.0")
    assert globex.get(f"/v2/{REPO}/manifests/1.0").status_code == 200


# --- the calendar: a cached decision must not outlive a license's start or end -------------


def days_later(monkeypatch, days: int) -> None:
    later = timezone.localdate() + datetime.timedelta(days=days)
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: later)


@pytest.mark.django_db
def test_a_license_ending_today_stops_tomorrow(customer, pull_secret, pushed, monkeypatch):
    today = datetime.date.today()
    license_grant(customer, REPO, "glob:*", name="Ends today", valid_until=today)
    globex = Client(HTTP_AUTHORIZATION=basic(pull_secret))
    assert globex.get(f"/v2/{REPO}/manifests/2.0").status_code == 200  # cached
    days_later(monkeypatch, 1)
    denied(
        globex.get(f"/v2/{REPO}/manifests/2.0"),
        f"license 'Ends today' expired on {today.isoformat()}",
    )


@pytest.mark.django_db
def test_a_license_ending_today_stops_tomorrow_beside_a_perpetual_one(
    customer, pull_secret, pushed, monkeypatch
):
    """Two licenses: 2.x until today, 1.x perpetual. Tomorrow 2.0 is no longer covered,
    even though an entitlement was cached today, and the customer reads why: the license
    that would cover it has expired."""
    today = datetime.date.today()
    license_grant(customer, REPO, "glob:2.*", name="Two, ends today", valid_until=today)
    license_grant(customer, REPO, "glob:1.*", name="One, perpetual")
    globex = Client(HTTP_AUTHORIZATION=basic(pull_secret))
    assert globex.get(f"/v2/{REPO}/manifests/2.0").status_code == 200  # cached
    days_later(monkeypatch, 1)
    denied(
        globex.get(f"/v2/{REPO}/manifests/2.0"),
        f"license 'Two, ends today' expired on {today.isoformat()}",
    )
    assert globex.get(f"/v2/{REPO}/manifests/1.0").status_code == 200


@pytest.mark.django_db
def test_a_license_starting_tomorrow_starts_tomorrow(customer, pull_secret, pushed, monkeypatch):
    start = datetime.date.today() + datetime.timedelta(days=1)
    license_grant(customer, REPO, "glob:*", name="Starts tomorrow", valid_from=start)
    globex = Client(HTTP_AUTHORIZATION=basic(pull_secret))
    denied(
        globex.get(f"/v2/{REPO}/manifests/1.0"),
        f"license 'Starts tomorrow' is valid from {start.isoformat()}",
    )  # cached denial
    days_later(monkeypatch, 1)
    response = globex.get(f"/v2/{REPO}/manifests/1.0")
    assert response.status_code == 200, response.content
