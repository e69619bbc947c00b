from django.db import models


class IdempotencyKey(models.Model):
    """The first answer to a POST sent with `Idempotency-Key`, kept so a retry gets the
    same answer and creates nothing twice (api/idempotency.py). Stored in the transaction
    that made the change: either both commit or neither."""

    vendor = models.ForeignKey("customers.Vendor", on_delete=models.CASCADE, related_name="+")
    principal = models.CharField(max_length=200)  # token:<prefix> or user:<id>
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)  # sha256 of method, path and body
    status_code = models.PositiveSmallIntegerField()
    body = models.JSONField(null=True)
    location = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["vendor", "principal", "key"], name="idempotency_key_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.principal} {self.key}"
