"""Retention rules: what a vendor lets distr delete from its repositories (docs/gc.md)."""

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q


class RetentionRule(models.Model):
    """For repositories matching `repository_pattern` (a name or a glob under the vendor's
    namespace, `core/globs.py`): keep the newest `keep_newest` tags matching `tag_pattern`,
    delete untagged manifests older than `untagged_days`, delete tags matching
    `tag_pattern` not pulled for `unpulled_days`. A blank limit is not applied. Nothing an
    active license entitles is deleted unless `include_entitled`."""

    vendor = models.ForeignKey(
        "customers.Vendor", on_delete=models.CASCADE, related_name="retention_rules"
    )
    repository_pattern = models.CharField(max_length=255)  # path under `<vendor slug>/`
    tag_pattern = models.CharField(max_length=128, default="*")
    keep_newest = models.PositiveIntegerField(null=True, blank=True)
    untagged_days = models.PositiveIntegerField(null=True, blank=True)
    unpulled_days = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1)]
    )
    include_entitled = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["repository_pattern", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(keep_newest__isnull=False)
                | Q(untagged_days__isnull=False)
                | Q(unpulled_days__isnull=False),
                name="retention_rule_has_a_limit",
            )
        ]

    def __str__(self) -> str:
        return f"{self.repository_pattern}:{self.tag_pattern}"
