"""Tenants and identities: vendors (the tenant), their staff, their customers and customer
users, access tokens for the registry, and the audit log."""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q

# A vendor slug is the first component of every repository name the vendor owns, so it
# follows the registry's path-component grammar.
slug_validator = RegexValidator(
    r"^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$",
    "lower-case letters and digits, separated by '.', '_', '__' or '-'",
)


class Vendor(models.Model):
    slug = models.CharField(max_length=64, unique=True, validators=[slug_validator])
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.slug


class VendorMember(models.Model):
    class Role(models.TextChoices):
        ADMIN = "admin"
        MAINTAINER = "maintainer"
        VIEWER = "viewer"

    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="vendor_memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["vendor", "user"], name="vendor_member_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user_id}@{self.vendor_id} ({self.role})"


class Customer(models.Model):
    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="customers")
    slug = models.CharField(max_length=64, validators=[slug_validator])
    name = models.CharField(max_length=200)
    contact_email = models.EmailField(blank=True)
    notes = models.TextField(blank=True)
    # A suspended customer pulls nothing and its users cannot use the portal.
    suspended_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["vendor", "slug"], name="customer_slug_unique")
        ]
        # The console's list and the API's `?ordering=name|-name|created_at` page a vendor's
        # customers in these orders: an index walk instead of sorting every customer.
        indexes = [
            models.Index(fields=["vendor", "name"], name="customer_vendor_name"),
            models.Index(fields=["vendor", "created_at"], name="customer_vendor_created"),
        ]

    def __str__(self) -> str:
        return f"{self.vendor_id}/{self.slug}"


class CustomerMember(models.Model):
    class Role(models.TextChoices):
        ADMIN = "admin"
        MEMBER = "member"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="customer_memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    # Opted in to an email for each new release the customer may pull (portal/notices.py).
    release_notices = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "user"], name="customer_member_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user_id}@{self.customer_id} ({self.role})"


class AccessToken(models.Model):
    """A credential. Only a hash of the secret is stored; `prefix` is the short, non-secret
    beginning shown in lists and used to find the row. Push and pull tokens are for the
    registry (`/v2/`); API tokens are for the JSON API (`/api/v1/`) only, and each kind
    is refused by the other (customers.selectors.token_authenticate's `kinds`)."""

    class Kind(models.TextChoices):
        PUSH = "push", "push (vendor CI)"
        PULL = "pull", "pull (customer)"
        API = "api", "API (vendor automation)"

    kind = models.CharField(max_length=8, choices=Kind.choices)
    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="tokens")
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.CASCADE, related_name="tokens"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=32, unique=True)
    secret_hash = models.CharField(max_length=64)
    # Push tokens may be narrowed to repositories (globs relative to the vendor namespace,
    # e.g. "app" or "charts/*") and to a subset of actions. Empty means "all".
    repository_patterns = models.JSONField(default=list, blank=True)
    actions = models.JSONField(default=list, blank=True)
    # API tokens only: what the token may do in the API (customers/scopes.py). Never empty.
    scopes = models.JSONField(default=list, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["push", "api"], customer__isnull=True)
                | Q(kind="pull", customer__isnull=False),
                name="token_owner_matches_kind",
            )
        ]
        # A vendor's tokens newest first (console and API pages), not a scan past every
        # other vendor's newer tokens (bench/api.py).
        indexes = [models.Index(fields=["vendor", "id"], name="token_vendor_id")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class AuditEvent(models.Model):
    class Action(models.TextChoices):
        TOKEN_CREATED = "token.created"  # noqa: S105 - an event name
        TOKEN_REVOKED = "token.revoked"  # noqa: S105 - an event name
        AUTH_FAILED = "auth.failed"
        MANIFEST_PUSHED = "manifest.pushed"
        TAG_MOVED = "tag.moved"
        MANIFEST_DELETED = "manifest.deleted"
        TAG_DELETED = "tag.deleted"
        BLOB_DELETED = "blob.deleted"
        VENDOR_CREATED = "vendor.created"
        CUSTOMER_CREATED = "customer.created"
        CUSTOMER_UPDATED = "customer.updated"
        CUSTOMER_SUSPENDED = "customer.suspended"
        CUSTOMER_RESUMED = "customer.resumed"
        CUSTOMER_DELETED = "customer.deleted"
        LICENSE_CREATED = "license.created"
        LICENSE_UPDATED = "license.updated"
        LICENSE_DELETED = "license.deleted"
        GRANT_ADDED = "grant.added"
        GRANT_REMOVED = "grant.removed"
        INVITATION_SENT = "invitation.sent"
        INVITATION_ACCEPTED = "invitation.accepted"
        INVITATION_REVOKED = "invitation.revoked"
        MEMBER_ADDED = "member.added"
        MEMBER_NOTICES_CHANGED = "member.notices_changed"
        MEMBER_REMOVED = "member.removed"
        MEMBER_ROLE_CHANGED = "member.role_changed"
        BRANDING_UPDATED = "branding.updated"
        DOMAIN_ADDED = "domain.added"
        DOMAIN_VERIFIED = "domain.verified"
        DOMAIN_REMOVED = "domain.removed"
        LOGIN = "user.login"
        LOGIN_FAILED = "user.login_failed"
        WEBHOOK_CREATED = "webhook.created"
        WEBHOOK_UPDATED = "webhook.updated"
        WEBHOOK_DELETED = "webhook.deleted"
        # Reserved for the signing keys, air-gap kits, license keys and storage lifecycle
        # work (issues 15 to 17), so parallel branches share one migration of choices.
        SIGNING_KEY_CREATED = "signing_key.created"
        SIGNING_KEY_ROTATED = "signing_key.rotated"
        SIGNING_KEY_RETIRED = "signing_key.retired"
        KIT_CREATED = "kit.created"
        KIT_DOWNLOADED = "kit.downloaded"
        KIT_DELETED = "kit.deleted"
        FIELD_CREATED = "entitlement_field.created"
        FIELD_UPDATED = "entitlement_field.updated"
        FIELD_DELETED = "entitlement_field.deleted"
        PLAN_CREATED = "plan.created"
        PLAN_UPDATED = "plan.updated"
        PLAN_DELETED = "plan.deleted"
        PLAN_APPLIED = "plan.applied"
        LICENSE_KEY_ISSUED = "license_key.issued"
        LICENSE_OVER_LIMIT = "license.over_limit"
        INSTANCE_FIRST_SEEN = "instance.first_seen"
        CHECKIN_UPLOADED = "checkin.uploaded"
        RETENTION_RULE_CREATED = "retention_rule.created"
        RETENTION_RULE_UPDATED = "retention_rule.updated"
        RETENTION_RULE_DELETED = "retention_rule.deleted"
        RETENTION_APPLIED = "retention.applied"
        GC_COMPLETED = "gc.completed"
        IMMUTABLE_RULE_CREATED = "immutable_rule.created"
        IMMUTABLE_RULE_UPDATED = "immutable_rule.updated"
        IMMUTABLE_RULE_DELETED = "immutable_rule.deleted"
        IMMUTABLE_REFUSED = "immutable.refused"
        QUOTA_UPDATED = "quota.updated"
        QUOTA_REFUSED = "quota.refused"

    vendor = models.ForeignKey(
        Vendor, null=True, blank=True, on_delete=models.CASCADE, related_name="audit_events"
    )
    action = models.CharField(max_length=32, choices=Action.choices)
    actor = models.CharField(max_length=200, blank=True)  # "token:<prefix>", "user:<id>"
    target = models.CharField(max_length=400, blank=True)
    client_address = models.GenericIPAddressField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["vendor", "-created_at"]),
            models.Index(fields=["vendor", "id"], name="audit_vendor_id"),  # pages by id
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.target}"
