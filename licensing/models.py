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
    # What the license key carries beyond dates (docs/license-keys.md): the plan's field
    # values and seats, overridden per license by `values` and `seats`.
    plan = models.ForeignKey(
        "licensing.Plan", null=True, blank=True, on_delete=models.PROTECT, related_name="licenses"
    )
    values = models.JSONField(default=dict, blank=True)  # field key -> override
    seats = models.PositiveIntegerField(null=True, blank=True)  # None: the plan's (or no limit)
    # Bumped by every change to what the key says; a key with a lower one is superseded.
    sequence = models.PositiveIntegerField(default=1)
    # Whether the last check-in counted more instances than seats: only its transitions
    # are audited (license.over_limit), not every check-in.
    over_limit = models.BooleanField(default=False)

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
    # Copied from the license's plan: replaced when the plan's grants change.
    from_plan = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"{self.repository_name} {self.rule}:{self.pattern}"


class EntitlementField(models.Model):
    """A typed value the vendor's software reads from a license key (a claim in `fields`)."""

    class Kind(models.TextChoices):
        INTEGER = "integer"
        BOOLEAN = "boolean"
        STRING = "string"
        DATE = "date"
        ONE_OF = "one_of"

    vendor = models.ForeignKey("customers.Vendor", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=64)  # the claim name: [a-z][a-z0-9_]*
    label = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    choices = models.JSONField(default=list, blank=True)  # one_of only
    default = models.JSONField(null=True, blank=True)
    customer_visible = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["key"]
        constraints = [
            models.UniqueConstraint(fields=["vendor", "key"], name="field_vendor_key_unique")
        ]

    def __str__(self) -> str:
        return self.key


class Plan(models.Model):
    """Field values, seats and grants licenses start from (Starter, Business, ...)."""

    vendor = models.ForeignKey("customers.Vendor", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)
    values = models.JSONField(default=dict, blank=True)  # field key -> value
    seats = models.PositiveIntegerField(null=True, blank=True)  # None: no limit
    # [{"repository_name": "acme/app", "rule": "semver:^1", "include_referrers": true}]
    grants = models.JSONField(default=list, blank=True)
    lease_seconds = models.PositiveIntegerField(default=7 * 86400)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["vendor", "name"], name="plan_vendor_name_unique")
        ]

    def __str__(self) -> str:
        return self.name


class LicenseKey(models.Model):
    """One issued license key: its claims (so the same token can be re-derived: Ed25519
    signatures are deterministic) and its SHA-256, never the token itself."""

    license = models.ForeignKey(License, on_delete=models.CASCADE, related_name="keys")
    sequence = models.PositiveIntegerField()
    kid = models.CharField(max_length=64)
    claims = models.JSONField()
    token_sha256 = models.CharField(max_length=64, unique=True)
    issued_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"license {self.license_id} key {self.sequence}"


class Instance(models.Model):
    """One installation of the vendor's software, as it reports itself at check-in."""

    class Source(models.TextChoices):
        ONLINE = "online"
        OFFLINE = "offline"  # uploaded by the customer: self-reported

    license = models.ForeignKey(License, on_delete=models.CASCADE, related_name="instances")
    instance_id = models.CharField(max_length=200)  # opaque, chosen by the application
    version = models.CharField(max_length=200, blank=True)  # version string or digest
    metadata = models.JSONField(default=dict, blank=True)
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.ONLINE)
    first_seen = models.DateTimeField()
    # Written at most once a minute per instance unless what it reports changes
    # (licensing/checkins.py): seats count days, not seconds.
    last_seen = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["license", "instance_id"], name="instance_license_id_unique"
            )
        ]
        indexes = [models.Index(fields=["license", "last_seen"], name="instance_license_seen")]

    def __str__(self) -> str:
        return self.instance_id
