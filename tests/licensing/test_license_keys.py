"""License keys, leases, check-ins and seats (docs/license-keys.md), through the real
check-in endpoint; keys verified with PyJWT against the published JWKS."""

import datetime
import json
import time

import jwt
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from customers.models import AuditEvent
from customers.services import customer_create, vendor_create
from licensing import checkins
from licensing.checkins import checkins_upload
from licensing.keys import KEY_TYP, LEASE_TYP, lease_issue, license_key_current
from licensing.models import Instance, License
from licensing.plans import field_create, license_plan_set, plan_create, plan_update
from licensing.services import license_create, license_delete, license_set_status
from signing.services import signing_key_retire, signing_key_rotate
from tests.conftest import basic

CHECK_IN = "/api/v1/license/check-in"


@pytest.fixture
def plan(vendor):
    field_create(vendor=vendor, key="tier", kind="one_of", choices=["starter", "enterprise"])
    field_create(vendor=vendor, key="sso", kind="boolean", default=False, customer_visible=True)
    return plan_create(
        vendor=vendor,
        name="Business",
        values={"tier": "starter"},
        seats=3,
        grants=[{"repository_name": "acme/app", "rule": "glob:1.*"}],
        lease_seconds=3600,
    )


@pytest.fixture
def lic(vendor, customer, plan):
    license = license_create(vendor=vendor, customer=customer, name="Gold")
    return license_plan_set(license=license, plan=plan, values={"sso": True})


def jwks_keys(vendor_slug="acme"):
    body = Client().get(f"/p/{vendor_slug}/keys/jwks.json").json()
    return {k["kid"]: jwt.PyJWK(k) for k in body["keys"]}


def verify(token, typ=KEY_TYP, vendor_slug="acme"):
    header = jwt.get_unverified_header(token)
    assert header["typ"] == typ and header["alg"] == "EdDSA"
    key = jwks_keys(vendor_slug)[header["kid"]]
    return jwt.decode(token, key, algorithms=["EdDSA"])


def post(body):
    return Client().post(CHECK_IN, json.dumps(body), content_type="application/json")


def check_in(key, instance="i-1", version="1.2.0"):
    return post({"key": key, "instance_id": instance, "version": version})


def test_key_carries_the_license_and_verifies_with_the_jwks(lic, customer):
    key = license_key_current(lic)
    claims = verify(key)
    assert claims["sub"] == str(lic.pk)
    assert claims["iss"].endswith("/p/acme")
    assert claims["customer"] == {"id": "globex", "name": "Globex"}
    assert claims["plan"] == "Business"
    assert claims["fields"] == {"sso": True, "tier": "starter"}
    assert claims["seats"] == 3
    assert claims["seq"] == lic.sequence
    assert claims["check_in"].endswith(CHECK_IN)
    assert "exp" not in claims  # perpetual
    # The same key until its content changes; only its SHA-256 is stored.
    assert license_key_current(lic) == key
    assert AuditEvent.objects.filter(action=AuditEvent.Action.LICENSE_KEY_ISSUED).count() == 1
    assert not License.objects.get(pk=lic.pk).keys.filter(claims__icontains=key).exists()


def test_a_changed_claim_fails(lic):
    key = license_key_current(lic)
    header, payload, signature = key.split(".")
    claims = json.loads(jwt.utils.base64url_decode(payload))
    claims["seats"] = 300
    forged_payload = jwt.utils.base64url_encode(json.dumps(claims).encode()).decode()
    forged = f"{header}.{forged_payload}.{signature}"
    with pytest.raises(jwt.InvalidSignatureError):
        verify(forged)
    response = check_in(forged)
    assert response.status_code == 401
    assert response.json()["detail"] == "the key does not verify: the signature does not match"


def test_rotation_keeps_old_keys_until_retired(lic, vendor):
    old = license_key_current(lic)
    old_kid = jwt.get_unverified_header(old)["kid"]
    signing_key_rotate(vendor=vendor)
    new = license_key_current(lic)
    assert jwt.get_unverified_header(new)["kid"] != old_kid
    assert verify(old)["sub"] == str(lic.pk)  # before retirement
    assert check_in(old).json()["status"] == "valid"
    signing_key_retire(vendor=vendor, kid=old_kid)
    assert old_kid not in jwks_keys()
    response = check_in(old)
    assert response.status_code == 401
    assert "does not (or no longer) trust" in response.json()["detail"]
    assert check_in(new).json()["status"] == "valid"


def test_check_in_answers_a_lease_and_suspension_stops_it(lic):
    key = license_key_current(lic)
    answer = check_in(key).json()
    assert answer["status"] == "valid"
    assert answer["key"] is None
    assert answer["seats"] == {"state": "ok", "used": 1, "bought": 3}
    lease = verify(answer["lease"], typ=LEASE_TYP)
    assert lease["sub"] == str(lic.pk) and lease["seq"] == lic.sequence
    assert lease["exp"] - lease["iat"] == 3600  # the plan's lease
    license_set_status(license=lic, status=License.Status.SUSPENDED)
    answer = check_in(key).json()
    assert answer["status"] == "suspended"
    assert answer["lease"] is None
    assert answer["reason"] == "the vendor suspended this license"
    license_set_status(license=lic, status=License.Status.ACTIVE)
    answer = check_in(key).json()
    assert answer["status"] == "valid" and answer["lease"]


class Application:
    """The documented rule: valid while the key verifies and an unexpired lease for the
    same license and sequence is held; refresh the lease at check-in."""

    def __init__(self, key):
        self.key, self.lease = key, None

    def check_in(self):
        answer = check_in(self.key).json()
        if answer["key"]:
            self.key = answer["key"]
        self.lease = answer["lease"] or self.lease
        return answer

    def licensed(self, now):
        try:
            claims = verify(self.key)
            lease = jwt.decode(
                self.lease,
                jwks_keys()[jwt.get_unverified_header(self.lease)["kid"]],
                algorithms=["EdDSA"],
                options={"verify_exp": False},
            )
        except (jwt.InvalidTokenError, TypeError, KeyError):
            return False
        return (lease["sub"], lease["seq"]) == (claims["sub"], claims["seq"]) and now < lease["exp"]


def test_an_application_following_the_rule_stops_when_its_lease_expires(lic, plan):
    plan_update(
        plan=plan,
        name=plan.name,
        values=plan.values,
        seats=3,
        grants=plan.grants,
        lease_seconds=60,
    )
    lic.refresh_from_db()
    app = Application(license_key_current(lic))
    app.check_in()
    now = time.time()
    assert app.licensed(now)
    license_set_status(license=lic, status=License.Status.SUSPENDED)
    assert app.check_in()["status"] == "suspended"
    assert app.licensed(now + 30)  # offline grace: the lease it holds
    assert not app.licensed(now + 61)  # expired lease, none renewed
    license_set_status(license=lic, status=License.Status.ACTIVE)
    app.check_in()
    assert app.licensed(time.time() + 30)


def test_superseded_key_gets_the_new_key_and_no_lease(lic, plan):
    app = Application(license_key_current(lic))
    old_key = app.key
    changed = plan_update(
        plan=plan, name=plan.name, values={"tier": "enterprise"}, seats=5, grants=plan.grants
    )
    assert [x.pk for x in changed] == [lic.pk]
    answer = check_in(old_key).json()
    assert answer["status"] == "superseded" and answer["lease"] is None
    assert verify(answer["key"])["fields"]["tier"] == "enterprise"
    assert verify(answer["key"])["seq"] == verify(old_key)["seq"] + 1
    app.check_in()
    assert app.check_in()["status"] == "valid" and app.licensed(time.time())


def test_seats_over_limit_and_the_window(lic, settings):
    key = license_key_current(lic)
    for n in range(1, 4):
        assert check_in(key, instance=f"i-{n}").json()["seats"]["state"] == "ok"
    fourth = check_in(key, instance="i-4").json()
    assert fourth["seats"] == {"state": "over_limit", "used": 4, "bought": 3}
    over = AuditEvent.objects.filter(action=AuditEvent.Action.LICENSE_OVER_LIMIT)
    assert over.count() == 1 and over.get().details["used"] == 4
    check_in(key, instance="i-4")
    assert over.count() == 1  # the turn only, not every check-in
    first_seen = AuditEvent.objects.filter(action=AuditEvent.Action.INSTANCE_FIRST_SEEN)
    assert first_seen.count() == 4
    # Not seen for N days: stops counting.
    stale = timezone_days_ago(settings.LICENSE_SEAT_WINDOW_DAYS + 1)
    Instance.objects.filter(license=lic, instance_id="i-1").update(last_seen=stale)
    assert check_in(key, instance="i-2").json()["seats"] == {
        "state": "ok",
        "used": 3,
        "bought": 3,
    }


def timezone_days_ago(days):
    return datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=days)


def test_plan_change_changes_grants_and_the_registry_honours_them(lic, plan, pushed):
    globex = Client(HTTP_AUTHORIZATION=basic(pull_secret_for(lic)))
    assert globex.get("/v2/acme/app/manifests/1.0").status_code == 200
    assert globex.get("/v2/acme/app/manifests/2.0").status_code == 403
    before = lic.sequence
    plan_update(
        plan=plan,
        name=plan.name,
        values=plan.values,
        seats=3,
        grants=[{"repository_name": "acme/app", "rule": "glob:2.*"}],
    )
    lic.refresh_from_db()
    assert lic.sequence == before + 1
    assert globex.get("/v2/acme/app/manifests/2.0").status_code == 200
    assert globex.get("/v2/acme/app/manifests/1.0").status_code == 403
    audit = AuditEvent.objects.filter(action=AuditEvent.Action.PLAN_UPDATED).get()
    assert audit.details["licenses"] == [lic.pk]


def pull_secret_for(license):
    from customers.services import token_mint

    return token_mint(
        vendor=license.vendor, customer=license.customer, kind="pull", name="p"
    ).secret


def test_a_steady_check_in_reads_everything_in_one_query(lic):
    """licensing/checkin_state.py: the key's record, license, plan, trusted and current
    signing keys, the instance and the seat count in one statement; no write while the
    instance reports the same within TOUCH_SECONDS."""
    key = license_key_current(lic)
    first = checkins.check_in(key=key, instance_id="i-1", version="1.2.0")
    assert first["status"] == "valid" and first["seats"]["used"] == 1
    with CaptureQueriesContext(connection) as queries:
        again = checkins.check_in(key=key, instance_id="i-1", version="1.2.0")
    assert len(queries) == 1, [q["sql"] for q in queries]
    assert again["status"] == "valid" and again["seats"] == first["seats"]
    assert verify(again["lease"], typ=LEASE_TYP)["instance"] == "i-1"
    with CaptureQueriesContext(connection) as queries:  # a new version is written at once
        checkins.check_in(key=key, instance_id="i-1", version="1.3.0")
    assert Instance.objects.get(license=lic, instance_id="i-1").version == "1.3.0"
    assert len(queries) == 2


def test_other_vendors_forged_and_deleted_keys_are_refused(lic, vendor):
    other = vendor_create(slug="initech", name="Initech")[0]
    other_customer, _ = customer_create(vendor=other, slug="x", name="X")
    other_license = license_create(vendor=other, customer=other_customer, name="L")
    other_key = license_key_current(other_license)
    assert check_in(other_key).json()["status"] == "valid"  # its own vendor's key works
    # Another vendor's key that claims to be acme's: acme's keys do not verify it.
    header, payload, signature = other_key.split(".")
    claims = json.loads(jwt.utils.base64url_decode(payload))
    claims["iss"], claims["sub"] = claims["iss"].replace("/initech", "/acme"), str(lic.pk)
    payload = jwt.utils.base64url_encode(json.dumps(claims).encode()).decode()
    response = check_in(f"{header}.{payload}.{signature}")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert "does not (or no longer) trust" in response.json()["detail"]
    # Not a key at all.
    response = check_in("not-a-key")
    assert response.status_code == 401
    assert response.json()["detail"] == "not a license key (a compact JWS)"
    # A deleted license's key.
    key = license_key_current(lic)
    license_delete(license=lic)
    response = check_in(key)
    assert response.status_code == 410
    assert response.json()["detail"] == "the license of this key was deleted"


def test_bad_reports_are_refused(lic):
    key = license_key_current(lic)
    response = post({"key": key, "instance_id": ""})
    assert response.status_code == 400
    assert response.json()["detail"] == "instance_id: 1 to 200 characters"
    response = post({"key": key, "instance_id": "a", "metadata": {"x": "y" * 5000}})
    assert response.status_code == 400
    assert response.json()["detail"] == "metadata: at most 4096 bytes"


def test_check_in_rate_limit_per_key(lic, settings):
    settings.LICENSE_CHECKIN_RATE_LIMIT = "3/min"
    key = license_key_current(lic)
    statuses = [check_in(key).status_code for _ in range(3 + 20)]
    assert statuses[:3] == [200, 200, 200]
    assert 429 in statuses


def test_offline_upload_records_self_reported_instances(lic, customer):
    key = license_key_current(lic)
    at = datetime.datetime.now(datetime.UTC).isoformat()
    document = {
        "format": "distr-checkins/1",
        "key": key,
        "check_ins": [
            {"instance_id": "air-1", "version": "1.1.0", "at": at},
            {"instance_id": "air-2", "version": "1.0.0", "at": at},
        ],
    }
    answer = checkins_upload(customer=customer, data=json.dumps(document).encode())
    assert answer["status"] == "valid" and verify(answer["lease"], typ=LEASE_TYP)
    assert answer["seats"] == {"state": "ok", "used": 2, "bought": 3}
    sources = set(Instance.objects.filter(license=lic).values_list("source", flat=True))
    assert sources == {"offline"}
    assert AuditEvent.objects.filter(action=AuditEvent.Action.CHECKIN_UPLOADED).count() == 1
    other, _ = customer_create(vendor=lic.vendor, slug="other", name="Other")
    from licensing.checkins import CheckInRefused

    with pytest.raises(CheckInRefused, match="another customer"):
        checkins_upload(customer=other, data=json.dumps(document).encode())


def test_lease_issue_for_kits(lic):
    assert verify(lease_issue(lic), typ=LEASE_TYP)["seq"] == lic.sequence
    license_set_status(license=lic, status=License.Status.SUSPENDED)
    assert lease_issue(lic) is None
