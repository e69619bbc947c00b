"""Reads of the key store, vendor first. Nothing here caches which keys are trusted:
every answer comes from the database, so a retirement counts in every process at once."""

from customers.models import Vendor
from signing.jwk import fingerprint, public_jwk, public_pem
from signing.models import SigningKey


def signing_keys_list(*, vendor: Vendor) -> list[SigningKey]:
    return list(SigningKey.objects.filter(vendor=vendor).defer("private_key_sealed"))


def verification_key(*, vendor: Vendor, kid: str) -> SigningKey | None:
    """The vendor's key `kid` if it still verifies (not retired), else None."""
    return (
        SigningKey.objects.filter(vendor=vendor, kid=kid, retired_at__isnull=True)
        .defer("private_key_sealed")
        .first()
    )


def verification_key_by_vendor_slug(*, vendor_slug: str, kid: str) -> SigningKey | None:
    """verification_key with its vendor, found by the vendor's slug (one query)."""
    return (
        SigningKey.objects.select_related("vendor")
        .filter(vendor__slug=vendor_slug, kid=kid, retired_at__isnull=True)
        .defer("private_key_sealed")
        .first()
    )


def verification_keys(*, vendor: Vendor) -> list[SigningKey]:
    return list(
        SigningKey.objects.filter(vendor=vendor, retired_at__isnull=True).defer(
            "private_key_sealed"
        )
    )


def key_public_view(key: SigningKey) -> dict:
    """What a page or an API answer shows of a key (never the private half)."""
    raw = bytes(key.public_key)
    return {
        "kid": key.kid,
        "fingerprint": fingerprint(raw),
        "pem": public_pem(raw),
        "is_current": key.is_current,
        "created_at": key.created_at,
        "retired_at": key.retired_at,
    }


def jwks(*, vendor: Vendor) -> dict:
    """RFC 7517 key set of the keys that verify, current first."""
    keys = sorted(verification_keys(vendor=vendor), key=lambda k: not k.is_current)
    return {
        "keys": [
            {**public_jwk(bytes(k.public_key)), "kid": k.kid, "alg": "EdDSA", "use": "sig"}
            for k in keys
        ]
    }
