"""Pull analytics: raw pull events, their daily rollups, and the rows that make the rollups
exact and idempotent. See docs/analytics.md."""

from django.db import models


class PullEvent(models.Model):
    """One successful manifest GET. `counted` is False when the manifest served was an
    index: the platform image fetched next is the pull (see analytics.ingestion)."""

    # The Redis stream entry id ("r:<ms>-<seq>") or a database-written event's id
    # ("db:<uuid>"): re-delivering an event can never insert it twice.
    stream_id = models.CharField(max_length=64, unique=True)
    # No index of its own: (vendor, occurred_at) below serves it; every index slows ingestion.
    vendor = models.ForeignKey(
        "customers.Vendor", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    token_prefix = models.CharField(max_length=32, blank=True)
    # Names, not foreign keys: a pull's history outlives a deleted repository or tag.
    repository = models.CharField(max_length=255)
    reference = models.CharField(max_length=200)
    digest = models.CharField(max_length=200)
    tag = models.CharField(max_length=128, blank=True)
    counted = models.BooleanField(default=True)
    client_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=256, blank=True)
    occurred_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["vendor", "occurred_at"]),
            models.Index(fields=["occurred_at"]),  # retention
        ]

    def __str__(self) -> str:
        return f"{self.repository}@{self.reference} {self.occurred_at:%Y-%m-%d %H:%M}"


class PullRollup(models.Model):
    """Pulls per (vendor, customer, repository, tag, digest, UTC day). `key` is a hash of
    those dimensions: one unique column the ingester upserts on, on SQLite and PostgreSQL
    alike, whether or not the customer is null."""

    key = models.CharField(max_length=32, unique=True)
    vendor = models.ForeignKey("customers.Vendor", on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    repository = models.CharField(max_length=255)
    tag = models.CharField(max_length=128, blank=True)
    digest = models.CharField(max_length=200)
    day = models.DateField()
    pulls = models.PositiveIntegerField(default=0)
    distinct_tokens = models.PositiveIntegerField(default=0)
    distinct_addresses = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["vendor", "day"]),
            models.Index(fields=["vendor", "customer", "day"]),
            models.Index(fields=["vendor", "repository", "day"]),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.repository}:{self.tag} {self.pulls}"


class PullRollupMember(models.Model):
    """A token or client address already counted in a rollup's distinct counts, so a
    later batch adds only new ones and the distinct counts stay exact. Pruned with the raw
    events (no event older than the retention window can arrive any more)."""

    class Kind(models.TextChoices):
        TOKEN = "t"  # noqa: S105 - a kind code
        ADDRESS = "a"

    rollup_key = models.CharField(max_length=32)
    kind = models.CharField(max_length=1, choices=Kind.choices)
    value = models.CharField(max_length=64)
    day = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["rollup_key", "kind", "value"], name="pull_rollup_member_unique"
            )
        ]
        indexes = [models.Index(fields=["day"])]

    def __str__(self) -> str:
        return f"{self.rollup_key} {self.kind}={self.value}"


class PullEventOutbox(models.Model):
    """Events written to the database because Redis was unreachable at pull time; the
    next ingestion pass moves them into PullEvent and the rollups like stream entries."""

    payload = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return str(self.pk)
