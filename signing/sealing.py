"""Private keys at rest: AES-256-GCM under a key derived (HKDF-SHA256) from
SIGNING_KEYS_SECRET, which defaults to SECRET_KEY. A database dump alone does not give
away a vendor's signing key; the associated data binds each sealed key to its vendor and
kid, so swapping sealed columns between rows fails to open."""

import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

_VERSION = b"\x01"  # a first byte, so the scheme can change without guessing


class SealBroken(Exception):
    """The sealed key does not open: another secret, or a tampered row."""


def _aead() -> AESGCM:
    secret = (settings.SIGNING_KEYS_SECRET or settings.SECRET_KEY).encode()
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"distr signing keys v1"
    ).derive(secret)
    return AESGCM(key)


def _context(vendor_id: int, kid: str) -> bytes:
    return f"{vendor_id}:{kid}".encode()


def seal(raw: bytes, *, vendor_id: int, kid: str) -> bytes:
    nonce = os.urandom(12)
    return _VERSION + nonce + _aead().encrypt(nonce, raw, _context(vendor_id, kid))


def unseal(sealed: bytes, *, vendor_id: int, kid: str) -> bytes:
    sealed = bytes(sealed)
    if sealed[:1] != _VERSION:
        raise SealBroken("unknown sealing version")
    try:
        return _aead().decrypt(sealed[1:13], sealed[13:], _context(vendor_id, kid))
    except Exception as exc:  # cryptography raises InvalidTag
        raise SealBroken("the signing key does not open with SIGNING_KEYS_SECRET") from exc
