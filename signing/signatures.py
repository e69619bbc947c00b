"""Signing and verifying with a vendor's keys: detached Ed25519 signatures (kit.json.sig)
and compact JWS with EdDSA (license keys, leases). Verification trusts only the vendor's
keys that are not retired, looked up by kid on every call."""

import base64
import binascii
import json
import threading

import jwt
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from customers.models import Vendor
from signing import sealing
from signing.models import SigningKey
from signing.selectors import verification_key, verification_key_by_vendor_slug
from signing.services import signing_key_current

_private_cache: dict[str, Ed25519PrivateKey] = {}  # kid -> key; a kid's key never changes
_cache_lock = threading.Lock()


class SignatureInvalid(Exception):
    """Why a signature or token was refused, in words a caller can show."""


def _private_key(key: SigningKey) -> Ed25519PrivateKey:
    with _cache_lock:
        cached = _private_cache.get(key.kid)
    if cached is None:
        raw = sealing.unseal(key.private_key_sealed, vendor_id=key.vendor_id, kid=key.kid)
        cached = Ed25519PrivateKey.from_private_bytes(raw)
        with _cache_lock:
            _private_cache[key.kid] = cached
    return cached


def sign_detached(*, vendor: Vendor, data: bytes) -> tuple[str, bytes]:
    """(kid, 64-byte Ed25519 signature over `data`) with the vendor's current key."""
    key = signing_key_current(vendor=vendor)
    return key.kid, _private_key(key).sign(data)


def verify_detached(*, vendor: Vendor, kid: str, data: bytes, signature: bytes) -> None:
    key = verification_key(vendor=vendor, kid=kid)
    if key is None:
        raise SignatureInvalid(f"key {kid} is not one of this vendor's keys, or is retired")
    try:
        Ed25519PublicKey.from_public_bytes(bytes(key.public_key)).verify(signature, data)
    except InvalidSignature as exc:
        raise SignatureInvalid("the signature does not match") from exc


def jws_sign(*, vendor: Vendor, claims: dict, typ: str, key: SigningKey | None = None) -> str:
    """A compact JWS (EdDSA) of `claims`, signed with the vendor's current key (`key`: that
    key, when the caller just read it).

    Built here rather than by jwt.encode: signing one fixed algorithm over JSON we made
    is three base64url parts and an Ed25519 signature from `cryptography`, and PyJWT's
    general encoder (header merging, algorithm lookup, key preparation) cost as much as
    the signature itself on every check-in's lease. Verification stays with PyJWT, where
    the checks are (tests/signing hold the two to each other)."""
    key = key or signing_key_current(vendor=vendor)
    header = {"alg": "EdDSA", "kid": key.kid, "typ": typ}  # sorted, as PyJWT writes it
    signing_input = b".".join(
        (
            _b64(json.dumps(header, separators=(",", ":")).encode()),
            _b64(json.dumps(claims, separators=(",", ":")).encode()),
        )
    )
    return (signing_input + b"." + _b64(_private_key(key).sign(signing_input))).decode()


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def jws_verify(*, vendor: Vendor, token: str, typ: str, leeway: int = 0, **options) -> dict:
    """The claims of `token` if the vendor's key named by its `kid` signed it, its `typ`
    is `typ` and its time claims hold; else SignatureInvalid with the reason. `options`
    go to PyJWT (for example `audience=`, `issuer=`, `options={"require": [...]}`)."""
    kid = _checked_kid(token, typ)
    key = verification_key(vendor=vendor, kid=kid) if kid else None
    return _verified(key, token, leeway, options)


def jws_verify_by_vendor_slug(
    *, vendor_slug: str, token: str, typ: str, leeway: int = 0, **options
) -> tuple[Vendor, dict]:
    """jws_verify for a token whose issuer names the vendor: the vendor and its key in one
    query (the license check-in's hot path); (vendor, claims)."""
    kid = _checked_kid(token, typ)
    key = verification_key_by_vendor_slug(vendor_slug=vendor_slug, kid=kid) if kid else None
    return (key.vendor if key else None), _verified(key, token, leeway, options)


def jws_verify_with_public_key(*, public_key: bytes, token: str, **options) -> dict:
    """jws_verify for a caller that has just read the trusted key named by the token's kid
    (licensing/checkin_state.py); the token's typ was checked by `jws_kid`."""
    return _verified_public(public_key, token, 0, options)


def jws_kid(token: str, typ: str) -> str:
    """The kid in the header of `token` ("" when none), or SignatureInvalid if the token
    is not an EdDSA JWS of type `typ`."""
    return _checked_kid(token, typ)


def _checked_kid(token: str, typ: str) -> str:
    # Only the header is decoded (PyJWT's get_unverified_header decodes all three parts,
    # a third of a check-in's crypto time); jwt.decode checks the whole token after.
    header_part, dot, _ = token.partition(".")
    try:
        if not dot or token.count(".") != 2:
            raise ValueError("not three parts")
        header = json.loads(base64.urlsafe_b64decode(header_part + "=" * (-len(header_part) % 4)))
        if not isinstance(header, dict):
            raise ValueError("not an object")
    except (ValueError, binascii.Error) as exc:
        raise SignatureInvalid("not a compact JWS") from exc
    if header.get("alg") != "EdDSA":
        raise SignatureInvalid("only EdDSA is accepted")
    if header.get("typ") != typ:
        raise SignatureInvalid(f"typ is not {typ}")
    kid = header.get("kid")
    return kid if isinstance(kid, str) else ""


def _verified(key: SigningKey | None, token: str, leeway: int, options: dict) -> dict:
    if key is None:
        raise SignatureInvalid("signed by a key this vendor does not (or no longer) trust")
    return _verified_public(bytes(key.public_key), token, leeway, options)


def _verified_public(public_key: bytes, token: str, leeway: int, options: dict) -> dict:
    public = Ed25519PublicKey.from_public_bytes(public_key)
    try:
        return jwt.decode(token, public, algorithms=["EdDSA"], leeway=leeway, **options)
    except jwt.ExpiredSignatureError as exc:
        raise SignatureInvalid("expired") from exc
    except jwt.InvalidSignatureError as exc:
        raise SignatureInvalid("the signature does not match") from exc
    except jwt.InvalidTokenError as exc:
        raise SignatureInvalid(str(exc)) from exc
