"""Content digests: the grammar of the OCI image spec, and hashing while bytes stream past.

A digest string is validated here before it is used as a database key or turned into a
storage path, so nothing a client sends reaches the file system unchecked.
"""

import hashlib
import re
from dataclasses import dataclass

from registry.errors import DigestInvalid

# Registered algorithms and the exact shape of their encoded part.
_ENCODED = {
    "sha256": re.compile(r"[a-f0-9]{64}"),
    "sha512": re.compile(r"[a-f0-9]{128}"),
}
# The general grammar, used to tell "malformed" from "unsupported algorithm".
_GRAMMAR = re.compile(r"[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+")


@dataclass(frozen=True)
class Digest:
    algorithm: str
    hex: str

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"


def digest_parse(value: str) -> Digest:
    """Parse and validate a digest; raise DigestInvalid for anything we will not store."""
    if not value or not _GRAMMAR.fullmatch(value):
        raise DigestInvalid(f"invalid digest {value[:200]!r}", detail={"digest": value[:200]})
    algorithm, _, encoded = value.partition(":")
    pattern = _ENCODED.get(algorithm)
    if pattern is None:
        raise DigestInvalid(
            f"unsupported digest algorithm {algorithm!r}", detail={"digest": value[:200]}
        )
    if not pattern.fullmatch(encoded):
        raise DigestInvalid(f"invalid {algorithm} digest", detail={"digest": value[:200]})
    return Digest(algorithm, encoded)


def digest_is_valid(value: str) -> bool:
    try:
        digest_parse(value)
    except DigestInvalid:
        return False
    return True


def hasher_new(algorithm: str = "sha256"):
    return hashlib.new(algorithm)


def digest_of(data: bytes, algorithm: str = "sha256") -> str:
    return f"{algorithm}:{hashlib.new(algorithm, data).hexdigest()}"
