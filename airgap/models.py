"""A kit is a frozen selection: what a customer's licenses covered when it was built, and
the small files (kit.json, its signature, SHA256SUMS, import.sh, index.json, manifest.json,
the manifests) exactly as they go into the tar. Blob bytes stay in the registry's storage;
the tar is laid out from these rows on every request (airgap/layout.py)."""

import uuid

from django.db import models


class Kit(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    vendor = models.ForeignKey("customers.Vendor", on_delete=models.CASCADE, related_name="kits")
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="kits"
    )
    # A delta holds only the blobs `since` did not; deleting `since` keeps the delta.
    since = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="deltas"
    )
    # The licenses it was built under: it is downloadable only while all are active.
    licenses = models.ManyToManyField("licensing.License", related_name="kits")
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=200, blank=True)
    # What was asked for: {"tags": [...], "newest": n}; for the history page.
    request = models.JSONField(default=dict, blank=True)
    # [{"reference", "repository", "tag", "digest", "media_type", "platforms", "size"}]
    images = models.JSONField(default=list)
    # [{"digest", "size"}] of every blob in the tar streamed from storage, sorted by digest.
    blobs = models.JSONField(default=list)
    total_size = models.BigIntegerField()
    etag = models.CharField(max_length=80)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["vendor", "customer", "-created_at"])]

    def __str__(self) -> str:
        return str(self.id)


class KitFile(models.Model):
    """One inline member of the tar, in tar order (`position`)."""

    kit = models.ForeignKey(Kit, on_delete=models.CASCADE, related_name="files")
    position = models.PositiveIntegerField()
    name = models.CharField(max_length=255)
    content = models.BinaryField()

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["kit", "position"], name="kit_file_position_unique")
        ]

    def __str__(self) -> str:
        return self.name


class KitDownload(models.Model):
    """One download, started by a request from byte 0 and continued by Range requests
    that carry the kit's ETag from the same client: audited once, counted once."""

    kit = models.ForeignKey(Kit, on_delete=models.CASCADE, related_name="downloads")
    vendor = models.ForeignKey(
        "customers.Vendor", on_delete=models.CASCADE, related_name="kit_downloads"
    )
    started_at = models.DateTimeField()
    last_request_at = models.DateTimeField()
    actor = models.CharField(max_length=200, blank=True)
    client_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=256, blank=True)
    requests = models.PositiveIntegerField(default=1)
    bytes_requested = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.kit_id} {self.started_at:%Y-%m-%d %H:%M}"
