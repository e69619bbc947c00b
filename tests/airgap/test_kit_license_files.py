"""License keys travel in kits (docs/airgap.md, docs/license-keys.md): each license the
kit was built under has its key and a lease under `licenses/`, listed in kit.json and
SHA256SUMS, and both verify offline with the vendor's published JWKS."""

import hashlib
import json

import jwt
import pytest
from django.test import Client

from airgap.services import kit_create
from licensing.keys import KEY_TYP, LEASE_TYP
from licensing.plans import field_create, license_plan_set, plan_create
from tests.airgap.conftest import kit_bytes, members

pytestmark = pytest.mark.django_db


def _verified(token: bytes, typ: str) -> dict:
    keys = {k["kid"]: jwt.PyJWK(k) for k in Client().get("/p/acme/keys/jwks.json").json()["keys"]}
    header = jwt.get_unverified_header(token)
    assert (header["typ"], header["alg"]) == (typ, "EdDSA")
    return jwt.decode(token, keys[header["kid"]], algorithms=["EdDSA"])


def test_a_kit_carries_each_license_key_and_lease(vendor, customer, license):
    field_create(vendor=vendor, key="tier", kind="one_of", choices=["starter", "enterprise"])
    plan = plan_create(vendor=vendor, name="Enterprise", values={"tier": "enterprise"}, seats=5)
    license = license_plan_set(license=license, plan=plan)
    kit = kit_create(customer=customer)
    files = members(kit_bytes(kit))

    key_name, lease_name = f"licenses/{license.pk}.jwt", f"licenses/{license.pk}.lease.jwt"
    kit_json = json.loads(files["kit.json"])
    assert kit_json["licenseFiles"] == [key_name, lease_name]
    sums = dict(reversed(line.split("  ", 1)) for line in files["SHA256SUMS"].decode().splitlines())
    for name in (key_name, lease_name):
        assert sums[name] == hashlib.sha256(files[name]).hexdigest()

    claims = _verified(files[key_name], KEY_TYP)
    assert claims["sub"] == str(license.pk) and claims["seats"] == 5
    lease = _verified(files[lease_name], LEASE_TYP)
    assert lease["sub"] == str(license.pk) and lease["seq"] == claims["seq"]
    assert lease["exp"] - lease["iat"] == plan.lease_seconds


def test_a_changed_license_key_fails_offline(customer, license):
    files = members(kit_bytes(kit_create(customer=customer)))
    token = files[f"licenses/{license.pk}.jwt"].decode()
    header, payload, signature = token.split(".")
    forged = json.loads(jwt.utils.base64url_decode(payload))
    forged["seats"] = 1000
    payload = jwt.utils.base64url_encode(json.dumps(forged).encode()).decode()
    with pytest.raises(jwt.InvalidSignatureError):
        _verified(f"{header}.{payload}.{signature}".encode(), KEY_TYP)
