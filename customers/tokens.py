"""Token secrets: generation, hashing and the visible prefix.

A secret looks like `distr_pull_<43 base62 chars>` (256 bits of randomness). The kind
prefix lets secret scanners recognise a leaked distr token; the first characters after it
form the visible, non-secret `prefix` stored beside a SHA-256 hash of the whole secret.
A plain SHA-256 is enough for 256-bit random secrets (no dictionary to attack) and keeps
verification cheap; comparison is constant time.
"""

import hashlib
import hmac
import secrets
import string

KIND_PREFIX = {"push": "distr_push_", "pull": "distr_pull_", "api": "distr_api_"}
_ALPHABET = string.ascii_letters + string.digits
_RANDOM_LENGTH = 43  # 43 * log2(62) = 256.1 bits
_VISIBLE_RANDOM = 8
# Hash compared against when no row matches, so a miss costs the same as a wrong secret.
_DUMMY_HASH = hashlib.sha256(b"distr: no such token").hexdigest()


def secret_generate(kind: str) -> str:
    random_part = "".join(secrets.choice(_ALPHABET) for _ in range(_RANDOM_LENGTH))
    return KIND_PREFIX[kind] + random_part


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_prefix(secret: str) -> str | None:
    """The visible prefix of a well-formed secret, or None."""
    for kind_prefix in KIND_PREFIX.values():
        if secret.startswith(kind_prefix):
            random_part = secret[len(kind_prefix) :]
            if len(random_part) == _RANDOM_LENGTH and all(c in _ALPHABET for c in random_part):
                return kind_prefix + random_part[:_VISIBLE_RANDOM]
    return None


def secret_matches(secret: str, stored_hash: str | None) -> bool:
    """Constant-time check; pass None when no row was found (compares against a dummy)."""
    matches = hmac.compare_digest(secret_hash(secret), stored_hash or _DUMMY_HASH)
    return matches and stored_hash is not None
