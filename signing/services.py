"""Writes to the key store: the first key, rotation, retirement. Each in one transaction
with its audit row; the partial unique index (`signing_key_one_current`) decides a race
between two processes creating or rotating at once."""

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.db import IntegrityError, transaction
from django.utils import timezone

from customers.models import AuditEvent, Vendor
from customers.services import audit_record
from signing import sealing
from signing.jwk import thumbprint
from signing.models import SigningKey


class SigningKeyError(Exception):
    pass


def _user_actor(user) -> str:
    return f"user:{user.pk}" if user is not None else ""


def _new_key(vendor: Vendor) -> SigningKey:
    private = Ed25519PrivateKey.generate()
    raw_private = private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    raw_public = private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    kid = thumbprint(raw_public)
    return SigningKey.objects.create(
        vendor=vendor,
        kid=kid,
        public_key=raw_public,
        private_key_sealed=sealing.seal(raw_private, vendor_id=vendor.pk, kid=kid),
        is_current=True,
    )


def signing_key_current(*, vendor: Vendor) -> SigningKey:
    """The key that signs for `vendor` now, made on first use (audited)."""
    key = SigningKey.objects.filter(vendor=vendor, is_current=True).first()
    if key is not None:
        return key
    try:
        with transaction.atomic():
            key = _new_key(vendor)
            audit_record(
                vendor=vendor,
                action=AuditEvent.Action.SIGNING_KEY_CREATED,
                target=f"signing_key:{key.kid}",
            )
            return key
    except IntegrityError:  # another process made the first key at the same moment
        return SigningKey.objects.get(vendor=vendor, is_current=True)


def signing_key_rotate(*, vendor: Vendor, by=None) -> SigningKey:
    """A new current key; the previous one keeps verifying until it is retired."""
    with transaction.atomic():
        previous = (
            SigningKey.objects.select_for_update().filter(vendor=vendor, is_current=True).first()
        )
        if previous is not None:
            SigningKey.objects.filter(pk=previous.pk).update(is_current=False)
        key = _new_key(vendor)
        audit_record(
            vendor=vendor,
            action=AuditEvent.Action.SIGNING_KEY_ROTATED,
            actor=_user_actor(by),
            target=f"signing_key:{key.kid}",
            details={"previous": previous.kid if previous else None},
        )
    return key


def signing_key_retire(*, vendor: Vendor, kid: str, by=None) -> SigningKey:
    """Stop trusting a previous key: what it signed no longer verifies, from the next
    request in every process (verification reads the store each time)."""
    with transaction.atomic():
        key = SigningKey.objects.select_for_update().filter(vendor=vendor, kid=kid).first()
        if key is None:
            raise SigningKeyError("no such signing key")
        if key.is_current:
            raise SigningKeyError("the current key cannot be retired: rotate first")
        if key.retired_at is not None:
            return key
        key.retired_at = timezone.now()
        key.save(update_fields=["retired_at"])
        audit_record(
            vendor=vendor,
            action=AuditEvent.Action.SIGNING_KEY_RETIRED,
            actor=_user_actor(by),
            target=f"signing_key:{key.kid}",
        )
    return key
