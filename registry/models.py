"""The registry's content model: repositories, blobs and their links, manifests, tags, uploads.

Blob bytes live in storage (see registry/storage/), keyed by digest; manifest bytes live
in the database so a manifest GET is one query and is served byte for byte as pushed.
"""

import uuid

from django.db import models
from django.db.models import Q


class Repository(models.Model):
    """A repository; its name is `<vendor slug>/<path>`, so it lives in its vendor's
    namespace. The first push by a vendor's push token creates it."""

    vendor = models.ForeignKey(
        "customers.Vendor", on_delete=models.CASCADE, related_name="repositories"
    )
    name = models.CharField(max_length=255, unique=True)
    # Anyone may pull a public repository, without credentials.
    is_public = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "repositories"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Blob(models.Model):
    """One stored blob. Stored once however many repositories link it."""

    digest = models.CharField(max_length=200, primary_key=True)
    size = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.digest


class RepositoryBlob(models.Model):
    """A blob is visible in a repository only through this link (upload, mount or manifest)."""

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="blob_links")
    blob = models.ForeignKey(Blob, on_delete=models.CASCADE, related_name="repository_links")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["repository", "blob"], name="repository_blob_unique")
        ]

    def __str__(self) -> str:
        return f"{self.repository_id}:{self.blob_id}"


class Manifest(models.Model):
    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="manifests")
    digest = models.CharField(max_length=200)
    media_type = models.CharField(max_length=255)
    artifact_type = models.CharField(max_length=255, blank=True)
    subject_digest = models.CharField(max_length=200, blank=True, db_index=True)
    annotations = models.JSONField(default=dict, blank=True)
    size = models.BigIntegerField()
    content = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["repository", "digest"], name="manifest_digest_unique")
        ]

    def __str__(self) -> str:
        return f"{self.repository_id}@{self.digest}"


class ManifestReference(models.Model):
    """An edge from a manifest to a blob it references (config, layer) or, for an index,
    to a child manifest. Entitlement and garbage collection walk these edges."""

    manifest = models.ForeignKey(Manifest, on_delete=models.CASCADE, related_name="references")
    blob = models.ForeignKey(
        Blob, null=True, blank=True, on_delete=models.PROTECT, related_name="manifest_references"
    )
    child = models.ForeignKey(
        Manifest, null=True, blank=True, on_delete=models.CASCADE, related_name="parent_references"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(blob__isnull=False, child__isnull=True)
                | Q(blob__isnull=True, child__isnull=False),
                name="manifest_reference_one_target",
            )
        ]

    def __str__(self) -> str:
        return f"{self.manifest_id} -> {self.blob_id or self.child_id}"


class Tag(models.Model):
    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=128)
    manifest = models.ForeignKey(Manifest, on_delete=models.CASCADE, related_name="tags")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["repository", "name"], name="tag_name_unique")
        ]

    def __str__(self) -> str:
        return self.name


class Upload(models.Model):
    """A blob upload session. Its state is here and in storage, never in process memory,
    so any web process can continue an upload another one started."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="uploads")
    size = models.BigIntegerField(default=0)
    # sha256 of the bytes received so far (hex), so a finishing PUT with no body needs no
    # second pass over the data.
    sha256_so_far = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Object storage (registry/storage/s3.py) only: the S3 multipart upload, its parts
    # ([{"PartNumber", "ETag", "Size"}]) and the object holding the bytes after the last
    # full part. With these any instance continues the upload.
    multipart_id = models.CharField(max_length=1024, blank=True)
    parts = models.JSONField(default=list, blank=True)
    tail_key = models.CharField(max_length=1024, blank=True)
    # One writer at a time across instances: a request holds the lease while it appends
    # (flock does this for the filesystem store). It expires if its holder dies.
    lease_holder = models.UUIDField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return str(self.id)


class TagHistory(models.Model):
    """Which manifest a tag pointed at, and when. Licenses entitle every digest an entitled
    tag pointed at while the license was valid, so a deployment pinned by digest keeps
    pulling after the vendor moves the tag."""

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="tag_history")
    tag = models.CharField(max_length=128)
    digest = models.CharField(max_length=200)
    since = models.DateTimeField()
    until = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["repository", "tag"])]

    def __str__(self) -> str:
        return f"{self.tag} -> {self.digest}"


class GcRun(models.Model):
    """One garbage-collection run (registry/gc/, docs/gc.md): its progress while it runs and
    its figures after. The store is install-wide, so a run is too; `freed_by_vendor` says
    which vendors' links and manifests it removed ({vendor id: bytes})."""

    class Status(models.TextChoices):
        RUNNING = "running"
        FINISHED = "finished"
        INTERRUPTED = "interrupted"  # its process died (SIGKILL, OOM); the next run redoes it
        FAILED = "failed"

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    dry_run = models.BooleanField(default=False)
    full = models.BooleanField(default=False)  # also listed the storage for orphan objects
    phase = models.CharField(max_length=32, blank=True)
    grace_seconds = models.PositiveIntegerField()
    started_at = models.DateTimeField(auto_now_add=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    manifests_examined = models.BigIntegerField(default=0)
    manifests_freed = models.BigIntegerField(default=0)
    blobs_examined = models.BigIntegerField(default=0)
    bytes_examined = models.BigIntegerField(default=0)
    blobs_freed = models.BigIntegerField(default=0)
    bytes_freed = models.BigIntegerField(default=0)
    objects_orphaned_freed = models.BigIntegerField(default=0)  # objects with no row (--full)
    skipped_busy = models.BigIntegerField(default=0)  # candidates a push held: left for later
    freed_by_vendor = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["status"])]

    def __str__(self) -> str:
        return f"gc {self.id} {self.status}"

    @property
    def duration_seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


class ImmutableTagRule(models.Model):
    """Tags that never move or go once pushed: the repositories it covers (a glob of the
    path inside the vendor's namespace, core/globs.py: `app`, `charts/*`, `**`) and the
    tags (a tag rule, core/tag_rules.py: `semver:>=0`, `glob:v*`, `exact:stable`)."""

    vendor = models.ForeignKey(
        "customers.Vendor", on_delete=models.CASCADE, related_name="immutable_tag_rules"
    )
    repository_pattern = models.CharField(max_length=255)
    tag_rule = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["vendor", "repository_pattern", "tag_rule"],
                name="immutable_tag_rule_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.repository_pattern} {self.tag_rule}"


class StorageQuota(models.Model):
    """How many bytes a vendor may store (each blob counted once, docs/registry.md)."""

    vendor = models.OneToOneField(
        "customers.Vendor", on_delete=models.CASCADE, related_name="storage_quota"
    )
    limit_bytes = models.BigIntegerField()
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.vendor_id}: {self.limit_bytes}"


class StorageSnapshot(models.Model):
    """A vendor's storage on one day, written by the daily snapshot task (storage over time)."""

    vendor = models.ForeignKey(
        "customers.Vendor", on_delete=models.CASCADE, related_name="storage_snapshots"
    )
    day = models.DateField()
    bytes_stored = models.BigIntegerField()
    blob_count = models.IntegerField()

    class Meta:
        ordering = ["day"]
        constraints = [
            models.UniqueConstraint(fields=["vendor", "day"], name="storage_snapshot_unique")
        ]

    def __str__(self) -> str:
        return f"{self.vendor_id} {self.day}: {self.bytes_stored}"
