"""Registry bearer tokens: JWTs signed with an ES256 key (PyJWT + cryptography).

The key comes from `REGISTRY_TOKEN_KEY` (PEM) or the file `REGISTRY_TOKEN_KEY_FILE`
(default `DATA_DIR/registry-token-key.pem`), generated on first use when absent. Every
web instance must share it: in a multi-instance install set `REGISTRY_TOKEN_KEY`.
"""

import base64
import hashlib
import json
import os
import tempfile
import threading
import time
import uuid
from collections import OrderedDict
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings

ALGORITHM = "ES256"  # pinned: verification accepts nothing else
TOKEN_LIFETIME_SECONDS = 300
LEEWAY_SECONDS = 30

_lock = threading.Lock()
_keys: dict = {}


class TokenInvalid(Exception):
    pass


def _load_or_create_pem() -> bytes:
    if settings.REGISTRY_TOKEN_KEY:
        return settings.REGISTRY_TOKEN_KEY.encode()
    path = Path(settings.REGISTRY_TOKEN_KEY_FILE)
    if not path.exists():
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".key-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
        os.chmod(tmp, 0o600)
        try:
            os.link(tmp, path)  # atomic and fails if another process won the race
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    return path.read_bytes()


def _key_id(public_key) -> str:
    """RFC 7638 JWK thumbprint of the public key."""
    numbers = public_key.public_numbers()

    def b64(value: int) -> str:
        return base64.urlsafe_b64encode(value.to_bytes(32, "big")).rstrip(b"=").decode()

    jwk = {"crv": "P-256", "kty": "EC", "x": b64(numbers.x), "y": b64(numbers.y)}
    canonical = json.dumps(jwk, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode()


def signing_keys():
    """(private key, public key, kid), loaded once per process."""
    cache_key = (settings.REGISTRY_TOKEN_KEY, str(settings.REGISTRY_TOKEN_KEY_FILE))
    loaded = _keys.get(cache_key)  # a dict read is atomic: no lock on the warm path
    if loaded is not None:
        return loaded
    with _lock:
        if cache_key not in _keys:
            private = serialization.load_pem_private_key(_load_or_create_pem(), password=None)
            if not isinstance(private, ec.EllipticCurvePrivateKey):
                raise ValueError("REGISTRY_TOKEN_KEY must be an EC P-256 private key")
            public = private.public_key()
            _keys.clear()
            _keys[cache_key] = (private, public, _key_id(public))
        return _keys[cache_key]


def token_issue(*, subject: str, access: list[dict]) -> tuple[str, int, int]:
    """A signed JWT for `subject` granting `access`. Returns (jwt, issued_at, expires_in)."""
    private, _, kid = signing_keys()
    now = int(time.time())
    claims = {
        "iss": settings.REGISTRY_TOKEN_ISSUER,
        "sub": subject,
        "aud": settings.REGISTRY_SERVICE,
        "exp": now + TOKEN_LIFETIME_SECONDS,
        "nbf": now,
        "iat": now,
        "jti": uuid.uuid4().hex,
        "access": access,
    }
    token = jwt.encode(claims, private, algorithm=ALGORITHM, headers={"kid": kid})
    return token, now, TOKEN_LIFETIME_SECONDS


class _VerifiedCache:
    """Claims of JWTs this process already verified, until they expire.

    A client reuses one JWT for every request of a pull, and an ES256 verification costs
    more than the rest of a warm manifest GET; the same bytes verify the same way, so only
    the time checks are repeated. Each entry records what it was verified against (the
    key id, issuer and audience); a hit counts only while those are still current, so a
    rotated-out key or a changed REGISTRY_SERVICE/REGISTRY_TOKEN_ISSUER sends the token
    through the full verification again. Revocation is checked separately on every
    request.
    """

    def __init__(self, capacity: int = 4096):
        self._items: OrderedDict[str, tuple[tuple[str, str, str], dict]] = OrderedDict()
        self._lock = threading.Lock()
        self._capacity = capacity

    def get(self, token: str, verified_with: tuple[str, str, str]) -> dict | None:
        # A hit takes no lock and does not reorder: a dict read is atomic under the GIL,
        # and with 4096 entries and JWTs that live 300 s, evicting the oldest inserted
        # instead of the least recently used costs at most one more verification. The
        # lock was contended by every thread of the worker on every request (py-spy).
        entry = self._items.get(token)
        if entry is None:
            return None
        recorded, claims = entry
        if recorded != verified_with:
            return None  # another key, issuer or audience: verify from scratch
        now = time.time()
        if not claims["nbf"] - LEEWAY_SECONDS <= now <= claims["exp"] + LEEWAY_SECONDS:
            return None  # the full verification raises the precise error
        return claims

    def put(self, token: str, verified_with: tuple[str, str, str], claims: dict) -> None:
        with self._lock:
            self._items[token] = (verified_with, claims)
            self._items.move_to_end(token)
            while len(self._items) > self._capacity:
                self._items.popitem(last=False)


_verified = _VerifiedCache()


def token_verify(token: str) -> dict:
    """Verified claims, or TokenInvalid: signature, pinned algorithm, exp, nbf, iss, aud."""
    _, public, kid = signing_keys()
    verified_with = (kid, settings.REGISTRY_TOKEN_ISSUER, settings.REGISTRY_SERVICE)
    claims = _verified.get(token, verified_with)
    if claims is not None:
        return claims
    claims = _token_decode(token, public, issuer=verified_with[1], audience=verified_with[2])
    _verified.put(token, verified_with, claims)
    return claims


def _token_decode(token: str, public, *, issuer: str, audience: str) -> dict:
    try:
        return jwt.decode(
            token,
            public,
            algorithms=[ALGORITHM],
            audience=audience,
            issuer=issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "nbf", "iat", "iss", "aud", "sub", "jti"]},
        )
    except jwt.PyJWTError as exc:
        raise TokenInvalid(str(exc)) from None
