"""The vendor key store: one current key per vendor, rotation keeps old keys verifying,
retirement stops them at once, private keys sealed at rest, every change audited, and a
vendor's signatures never verify under another vendor."""

import base64
import hashlib
import subprocess
import threading

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.db import IntegrityError, connection, transaction

from customers.models import AuditEvent
from customers.services import vendor_create
from signing import sealing
from signing.jwk import fingerprint, public_pem, thumbprint
from signing.models import SigningKey
from signing.selectors import jwks, verification_keys
from signing.services import (
    SigningKeyError,
    signing_key_current,
    signing_key_retire,
    signing_key_rotate,
)
from signing.signatures import (
    SignatureInvalid,
    jws_sign,
    jws_verify,
    sign_detached,
    verify_detached,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def acme():
    return vendor_create(slug="acme")[0]


@pytest.fixture
def umbrella():
    return vendor_create(slug="umbrella")[0]


def test_the_first_key_is_made_once_audited_and_sealed(acme):
    key = signing_key_current(vendor=acme)
    assert signing_key_current(vendor=acme).pk == key.pk
    assert SigningKey.objects.filter(vendor=acme).count() == 1
    assert len(bytes(key.public_key)) == 32 and key.kid == thumbprint(bytes(key.public_key))
    event = AuditEvent.objects.get(action="signing_key.created")
    assert (event.vendor, event.target) == (acme, f"signing_key:{key.kid}")
    sealed = bytes(key.private_key_sealed)
    assert len(sealed) == 1 + 12 + 32 + 16  # version, nonce, key, tag: nothing in clear
    raw = sealing.unseal(sealed, vendor_id=acme.pk, kid=key.kid)
    assert raw not in sealed


def test_a_sealed_key_does_not_open_under_another_secret_or_row(acme, settings):
    key = signing_key_current(vendor=acme)
    with pytest.raises(sealing.SealBroken):
        sealing.unseal(key.private_key_sealed, vendor_id=acme.pk + 1, kid=key.kid)
    settings.SIGNING_KEYS_SECRET = "another secret"
    with pytest.raises(sealing.SealBroken):
        sealing.unseal(key.private_key_sealed, vendor_id=acme.pk, kid=key.kid)


def test_the_database_allows_one_current_key_per_vendor(acme):
    key = signing_key_current(vendor=acme)
    with pytest.raises(IntegrityError), transaction.atomic():
        SigningKey.objects.create(
            vendor=acme, kid="other", public_key=b"x" * 32, private_key_sealed=b"", is_current=True
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        SigningKey.objects.filter(pk=key.pk).update(retired_at="2026-01-01T00:00:00Z")


@pytest.mark.skipif(connection.vendor == "sqlite", reason="a real race needs PostgreSQL")
def test_concurrent_first_use_makes_one_key(acme):
    kids, barrier = [], threading.Barrier(6)

    def first_use():
        barrier.wait()
        kids.append(signing_key_current(vendor=acme).kid)
        connection.close()

    threads = [threading.Thread(target=first_use) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(kids)) == 1 and SigningKey.objects.filter(vendor=acme).count() == 1


def test_rotation_keeps_old_signatures_until_retirement(acme):
    old_kid, old_sig = sign_detached(vendor=acme, data=b"kit.json bytes")
    old_token = jws_sign(vendor=acme, claims={"sub": "lic-1"}, typ="test+jwt")
    new = signing_key_rotate(vendor=acme)
    assert new.kid != old_kid and new.is_current
    new_kid, _ = sign_detached(vendor=acme, data=b"x")
    assert new_kid == new.kid
    # Both verify after the rotation...
    verify_detached(vendor=acme, kid=old_kid, data=b"kit.json bytes", signature=old_sig)
    assert jws_verify(vendor=acme, token=old_token, typ="test+jwt") == {"sub": "lic-1"}
    assert [k["kid"] for k in jwks(vendor=acme)["keys"]] == [new.kid, old_kid]
    # ...and the old one verifies nothing once retired.
    signing_key_retire(vendor=acme, kid=old_kid)
    with pytest.raises(SignatureInvalid, match="retired"):
        verify_detached(vendor=acme, kid=old_kid, data=b"kit.json bytes", signature=old_sig)
    with pytest.raises(SignatureInvalid, match="no longer"):
        jws_verify(vendor=acme, token=old_token, typ="test+jwt")
    assert [k["kid"] for k in jwks(vendor=acme)["keys"]] == [new.kid]
    actions = list(
        AuditEvent.objects.filter(action__startswith="signing_key.")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["signing_key.created", "signing_key.rotated", "signing_key.retired"]


def test_the_current_key_cannot_be_retired_and_unknown_kids_are_refused(acme, umbrella):
    key = signing_key_current(vendor=acme)
    with pytest.raises(SigningKeyError, match="rotate first"):
        signing_key_retire(vendor=acme, kid=key.kid)
    with pytest.raises(SigningKeyError, match="no such"):
        signing_key_retire(vendor=umbrella, kid=key.kid)  # not umbrella's key
    assert SigningKey.objects.get(pk=key.pk).retired_at is None


def test_another_vendors_signature_never_verifies(acme, umbrella):
    kid, sig = sign_detached(vendor=umbrella, data=b"data")
    with pytest.raises(SignatureInvalid):
        verify_detached(vendor=acme, kid=kid, data=b"data", signature=sig)
    token = jws_sign(vendor=umbrella, claims={"sub": "x"}, typ="test+jwt")
    with pytest.raises(SignatureInvalid):
        jws_verify(vendor=acme, token=token, typ="test+jwt")


def test_jws_sign_writes_byte_for_byte_what_pyjwt_writes(acme):
    # Keys issued before jws_sign built its own tokens are re-signed from their recorded
    # claims and must come out the same (licensing.keys.license_key_current).
    from signing.signatures import _private_key

    key = signing_key_current(vendor=acme)
    claims = {
        "iss": "http://distr.test/p/acme",
        "sub": "7",
        "customer": {"id": "globex", "name": "Globex Überlingen ✓"},
        "fields": {"sso": True, "tier": None, "users": 25, "ends": "2027-01-01"},
        "seq": 3,
        "iat": 1_800_000_000,
    }
    expected = jwt.encode(
        claims, _private_key(key), algorithm="EdDSA", headers={"kid": key.kid, "typ": "a+jwt"}
    )
    assert jws_sign(vendor=acme, claims=claims, typ="a+jwt") == expected


def test_jws_checks_signature_typ_alg_and_expiry(acme):
    token = jws_sign(vendor=acme, claims={"sub": "lic", "exp": 4102444800}, typ="a+jwt")
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "EdDSA", "kid": signing_key_current(vendor=acme).kid, "typ": "a+jwt"}
    with pytest.raises(SignatureInvalid, match="typ"):
        jws_verify(vendor=acme, token=token, typ="b+jwt")
    head, body, sig = token.split(".")
    forged_body = base64.urlsafe_b64encode(b'{"sub":"other","exp":4102444800}').rstrip(b"=")
    with pytest.raises(SignatureInvalid, match="does not match"):
        jws_verify(vendor=acme, token=f"{head}.{forged_body.decode()}.{sig}", typ="a+jwt")
    secret = "a-shared-secret-of-at-least-32-bytes!"
    hs = jwt.encode({"sub": "lic"}, secret, algorithm="HS256", headers={"typ": "a+jwt"})
    with pytest.raises(SignatureInvalid, match="EdDSA"):
        jws_verify(vendor=acme, token=hs, typ="a+jwt")
    expired = jws_sign(vendor=acme, claims={"sub": "lic", "exp": 1000}, typ="a+jwt")
    with pytest.raises(SignatureInvalid, match="expired"):
        jws_verify(vendor=acme, token=expired, typ="a+jwt")
    with pytest.raises(SignatureInvalid, match="compact JWS"):
        jws_verify(vendor=acme, token="not a token", typ="a+jwt")


def test_published_forms_verify_with_cryptography_and_openssl(acme, tmp_path):
    kid, sig = sign_detached(vendor=acme, data=b"kit.json bytes\n")
    (published,) = jwks(vendor=acme)["keys"]
    assert published == {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": published["x"],
        "kid": kid,
        "alg": "EdDSA",
        "use": "sig",
    }
    raw = base64.urlsafe_b64decode(published["x"] + "=")
    Ed25519PublicKey.from_public_bytes(raw).verify(sig, b"kit.json bytes\n")
    (tmp_path / "key.pem").write_text(public_pem(raw))
    (tmp_path / "kit.json").write_bytes(b"kit.json bytes\n")
    (tmp_path / "kit.json.sig").write_bytes(sig)
    verify = [
        "openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "key.pem", "-rawin",
        "-in", "kit.json", "-sigfile", "kit.json.sig",
    ]  # fmt: skip
    ok = subprocess.run(verify, cwd=tmp_path, capture_output=True, text=True)
    assert ok.returncode == 0 and "Signature Verified Successfully" in ok.stdout
    (tmp_path / "kit.json").write_bytes(b"kit.json bytes!\n")
    bad = subprocess.run(verify, cwd=tmp_path, capture_output=True, text=True)
    assert bad.returncode != 0
    der = subprocess.run(
        ["openssl", "pkey", "-pubin", "-in", "key.pem", "-outform", "DER"],
        cwd=tmp_path,
        capture_output=True,
        check=True,
    ).stdout
    assert fingerprint(raw).replace(" ", "") == hashlib.sha256(der).hexdigest()


def test_verification_keys_exclude_retired(acme):
    first = signing_key_current(vendor=acme)
    signing_key_rotate(vendor=acme)
    signing_key_retire(vendor=acme, kid=first.kid)
    assert first.kid not in {k.kid for k in verification_keys(vendor=acme)}
