"""Public key forms a verifier needs: the JWK (and its RFC 7638 thumbprint, our kid), the
PEM that `openssl pkeyutl -verify -pubin` reads, and the fingerprint people compare."""

import base64
import hashlib
import json

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def public_jwk(raw_public: bytes) -> dict:
    return {"kty": "OKP", "crv": "Ed25519", "x": b64url(raw_public)}


def thumbprint(raw_public: bytes) -> str:
    """RFC 7638: SHA-256 over the required members in lexicographic order, no spaces."""
    jwk = public_jwk(raw_public)
    canonical = json.dumps({k: jwk[k] for k in ("crv", "kty", "x")}, separators=(",", ":"))
    return b64url(hashlib.sha256(canonical.encode()).digest())


def public_pem(raw_public: bytes) -> str:
    key = Ed25519PublicKey.from_public_bytes(raw_public)
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def fingerprint(raw_public: bytes) -> str:
    """SHA-256 of the DER SubjectPublicKeyInfo, as
    `openssl pkey -pubin -in key.pem -outform DER | sha256sum` prints it, in groups of four
    for reading aloud."""
    der = Ed25519PublicKey.from_public_bytes(raw_public).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    digest = hashlib.sha256(der).hexdigest()
    return " ".join(digest[i : i + 4] for i in range(0, len(digest), 4))
