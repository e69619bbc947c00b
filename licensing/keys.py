"""License keys and leases (docs/license-keys.md): compact JWS signed with the vendor's
current Ed25519 key (signing.signatures).

A key says what the license is (customer, plan, field values, seats, validity, sequence);
a lease says it is still in force (not suspended, not superseded) until a near time. An
application trusts the license while it holds a valid key and an unexpired lease for it.

Each key issued is recorded with its claims and SHA-256, never the token: Ed25519
signatures are deterministic, so the same claims signed by the same key give the same
token back, and the customer sees the same key until its content (sequence) or the
vendor's current signing key changes."""

import datetime
import hashlib
import time

from django.conf import settings
from django.db import IntegrityError, transaction

from customers.models import AuditEvent
from customers.services import audit_record
from licensing.models import License, LicenseKey
from licensing.plans import license_seats, license_values
from licensing.selectors import license_status
from signing.published import jwks_url, vendor_public_url
from signing.services import signing_key_current
from signing.signatures import jws_sign

KEY_TYP = "distr-license+jwt"
LEASE_TYP = "distr-lease+jwt"


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# Served by api/views/check_in.py (a test checks the route agrees); a constant, so
# issuing a key does not load the API's URL modules into a registry process.
CHECK_IN_PATH = "/api/v1/license/check-in"


def check_in_url() -> str:
    return f"{settings.DISTR_PUBLIC_URL}{CHECK_IN_PATH}"


def _day_start(day: datetime.date) -> int:
    return int(datetime.datetime.combine(day, datetime.time.min, datetime.UTC).timestamp())


def key_claims(license: License, *, now: int | None = None) -> dict:
    """What the key of `license` says today (docs/license-keys.md, "Claims")."""
    vendor = license.vendor
    claims = {
        "iss": vendor_public_url(vendor),
        "sub": str(license.pk),
        "name": license.name,
        "customer": {"id": license.customer.slug, "name": license.customer.name},
        "plan": license.plan.name if license.plan_id else None,
        "fields": license_values(license),
        "seats": license_seats(license),
        "seq": license.sequence,
        "iat": int(now if now is not None else time.time()),
        "nbf": _day_start(license.valid_from),
        "check_in": check_in_url(),
        "jwks": jwks_url(vendor),
    }
    if license.valid_until is not None:  # valid through its last day, UTC
        claims["exp"] = _day_start(license.valid_until + datetime.timedelta(days=1))
    return claims


def _canonical(value):
    """Keys sorted at every level: PostgreSQL's jsonb gives them back in its own order,
    and the token must come out byte for byte the same."""
    if isinstance(value, dict):
        return {k: _canonical(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return value


def license_key_current(license: License, *, actor: str = "") -> str:
    """The license's key (compact JWS): the one last issued while its sequence and the
    vendor's signing key are unchanged, else a new one, recorded and audited."""
    signing_key = signing_key_current(vendor=license.vendor)
    last = LicenseKey.objects.filter(license=license).first()
    if last is not None and last.sequence == license.sequence and last.kid == signing_key.kid:
        token = jws_sign(vendor=license.vendor, claims=_canonical(last.claims), typ=KEY_TYP)
        if token_sha256(token) == last.token_sha256:
            return token
    claims = _canonical(key_claims(license))
    token = jws_sign(vendor=license.vendor, claims=claims, typ=KEY_TYP)
    digest = token_sha256(token)
    try:
        with transaction.atomic():
            LicenseKey.objects.create(
                license=license,
                sequence=license.sequence,
                kid=signing_key.kid,
                claims=claims,
                token_sha256=digest,
            )
            audit_record(
                vendor=license.vendor,
                action=AuditEvent.Action.LICENSE_KEY_ISSUED,
                actor=actor,
                target=f"license:{license.pk}",
                details={
                    "customer": license.customer.slug,
                    "name": license.name,
                    "sequence": license.sequence,
                    "kid": signing_key.kid,
                    "sha256": digest,
                },
            )
    except IntegrityError:
        pass  # another process issued the same claims in the same second: same token
    return token


def lease_seconds(license: License) -> int:
    if license.plan_id:
        return license.plan.lease_seconds
    return settings.LICENSE_LEASE_SECONDS


def lease_refusal(license: License, *, today: datetime.date | None = None) -> str:
    """Why `license` gets no lease ("" when it gets one)."""
    status = license_status(license, today or datetime.date.today())
    return "" if status == "active" else status.replace(" ", "_")


def lease_issue(
    license: License, *, instance_id: str = "", now: int | None = None, signing_key=None
) -> str | None:
    """A fresh lease for the license's current sequence, or None while it is suspended,
    expired or not yet valid (a superseded key is the caller's to refuse: see
    licensing.checkins). For air-gap kits: `licenses/<id>.lease.jwt`. `signing_key`: the
    vendor's current key, when the caller has just read it."""
    if lease_refusal(license):
        return None
    issued = int(now if now is not None else time.time())
    claims = {
        "iss": vendor_public_url(license.vendor),
        "sub": str(license.pk),
        "seq": license.sequence,
        "iat": issued,
        "exp": issued + lease_seconds(license),
    }
    if instance_id:
        claims["instance"] = instance_id
    return jws_sign(vendor=license.vendor, claims=claims, typ=LEASE_TYP, key=signing_key)
