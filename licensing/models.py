"""Licenses: which repositories and tags a customer may pull, and until when."""

from django.db import models


class License(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active"
        SUSPENDED = "suspended"

    vendor = models.ForeignKey("customers.Vendor", on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="licenses"
    )
    name = models.CharField(max_length=200)
    valid_from = models.DateField()
    valid_until = models.DateField(null=True, blank=True)  # None: perpetual
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        # "Which licenses end soon": the console's overview, the API's expires_before
        # filter and the webhooks' license clock.
        indexes = [
            models.Index(fields=["vendor", "valid_until"], name="license_vendor_until"),
            # A vendor's licenses newest first (the API's pages): without it the scan walks
            # past every other vendor's newer rows (bench/api.py).
            models.Index(fields=["vendor", "id"], name="license_vendor_id"),
        ]

    def __str__(self) -> str:
        return self.name


class LicenseGrant(models.Model):
    class Rule(models.TextChoices):
        EXACT = "exact"
        GLOB = "glob"
        SEMVER = "semver"

    license = models.ForeignKey(License, on_delete=models.CASCADE, related_name="grants")
    # A full repository name (`acme/app`, which need not exist yet) or a pattern of names
    # in the vendor's namespace (`acme/charts/*`, `acme/charts/**`): licensing/rules.py.
    # The database refuses one outside the license vendor's namespace (migration 0003).
    repository_name = models.CharField(max_length=255)
    rule = models.CharField(max_length=8, choices=Rule.choices)
    pattern = models.CharField(max_length=200)
    include_referrers = models.BooleanField(default=True)

    def __str__(self) -> str:
        return f"{self.repository_name} {self.rule}:{self.pattern}"
