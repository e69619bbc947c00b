"""Offline verification of a kit file, as an importer would do it: every member against
SHA256SUMS (streamed, constant memory), and kit.json's signature against the vendor's key.
Used by `manage.py kit verify`; docs/airgap.md gives the same steps with openssl."""

import hashlib
import json
import tarfile

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


class KitDamaged(Exception):
    pass


def kit_file_verify(path, public_key_for_kid) -> dict:
    """Check `path`; return kit.json. `public_key_for_kid(kid)` -> raw 32-byte Ed25519 key
    or None. Raises KitDamaged with what is wrong."""
    small: dict[str, bytes] = {}
    hashes: dict[str, str] = {}
    with tarfile.open(path, mode="r:") as archive:
        for member in archive:
            if not member.isfile():
                continue
            handle = archive.extractfile(member)
            hasher = hashlib.sha256()
            keep = not member.name.startswith("blobs/")
            parts = []
            while chunk := handle.read(1024 * 1024):
                hasher.update(chunk)
                if keep:
                    parts.append(chunk)
            hashes[member.name] = hasher.hexdigest()
            if keep:
                small[member.name] = b"".join(parts)
    if "SHA256SUMS" not in small or "kit.json" not in small or "kit.json.sig" not in small:
        raise KitDamaged("not a kit: SHA256SUMS, kit.json or kit.json.sig is missing")
    listed = {}
    for line in small["SHA256SUMS"].decode().splitlines():
        digest, _, name = line.partition("  ")
        listed[name] = digest
    for name, digest in listed.items():
        if hashes.get(name) != digest:
            raise KitDamaged(f"{name}: does not match SHA256SUMS")
    unlisted = set(hashes) - set(listed) - {"SHA256SUMS"}
    if unlisted:
        raise KitDamaged(f"not in SHA256SUMS: {', '.join(sorted(unlisted))}")
    kit = json.loads(small["kit.json"])
    kid = kit.get("signature", {}).get("kid", "")
    raw = public_key_for_kid(kid)
    if raw is None:
        raise KitDamaged(f"signed by key {kid!r}, which this vendor does not (or no longer) trust")
    try:
        Ed25519PublicKey.from_public_bytes(raw).verify(small["kit.json.sig"], small["kit.json"])
    except InvalidSignature:
        raise KitDamaged("kit.json does not match its signature") from None
    return kit
