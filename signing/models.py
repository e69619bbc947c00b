"""Per-vendor Ed25519 signing keys: what air-gap kits (`kit.json.sig`) and license keys
(JWS, EdDSA) are signed with. One current key per vendor signs; every key not retired
verifies; a retired key verifies nothing, so rotating is "new current key", and retiring
the old one is a separate, later step once what it signed has been replaced."""

from django.db import models
from django.db.models import Q

from customers.models import Vendor


class SigningKey(models.Model):
    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="signing_keys")
    # RFC 7638 JWK thumbprint of the public key: the `kid` in JWS headers, kit.json.sig's
    # name for the key, and the JWKS entry's id. Unique across vendors by construction.
    kid = models.CharField(max_length=64, unique=True)
    public_key = models.BinaryField()  # the raw 32-byte Ed25519 public key
    # The raw private key sealed with AES-256-GCM under SIGNING_KEYS_SECRET (signing/sealing.py),
    # bound to vendor and kid so a row's secret cannot be moved to another row.
    private_key_sealed = models.BinaryField()
    is_current = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One signer per vendor, decided by the database under concurrent rotations.
            models.UniqueConstraint(
                fields=["vendor"], condition=Q(is_current=True), name="signing_key_one_current"
            ),
            models.CheckConstraint(
                condition=Q(is_current=False) | Q(retired_at__isnull=True),
                name="signing_key_current_not_retired",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.vendor_id}:{self.kid}"
