"""White-label portal state: each vendor's branding, the host names its portal answers on,
and invitations (the only way to get a portal account)."""

import secrets

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models

color_validator = RegexValidator(r"^#[0-9a-fA-F]{6}$", "a colour like #1f4fd1")
host_validator = RegexValidator(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$",
    "a host name like portal.example.com (lower case, no port)",
)


class Branding(models.Model):
    """How the vendor's portal and emails look. Images live in the database (they are
    small) so every web instance serves them without shared disk."""

    vendor = models.OneToOneField(
        "customers.Vendor", on_delete=models.CASCADE, primary_key=True, related_name="branding"
    )
    display_name = models.CharField(max_length=100, blank=True)
    primary_color = models.CharField(max_length=7, default="#1f4fd1", validators=[color_validator])
    accent_color = models.CharField(max_length=7, default="#0f766e", validators=[color_validator])
    support_url = models.URLField(blank=True)
    support_email = models.EmailField(blank=True)
    footer_text = models.CharField(max_length=300, blank=True)
    logo = models.BinaryField(blank=True, default=b"", editable=True)
    logo_type = models.CharField(max_length=32, blank=True)
    favicon = models.BinaryField(blank=True, default=b"", editable=True)
    favicon_type = models.CharField(max_length=32, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.display_name or str(self.vendor_id)


def domain_token_new() -> str:
    """The per-domain secret a vendor publishes to prove it controls the host."""
    return secrets.token_urlsafe(24)


class VendorDomain(models.Model):
    """A host name (custom domain or sub-domain) that serves one vendor's portal once the
    vendor has proved it controls the host: a DNS TXT record `_distr-challenge.<host>`
    holding `token` (portal/domains.py). Until then the claim is pending and inert. Two
    vendors may hold pending claims on one host; only one can hold it verified."""

    CHALLENGE_LABEL = "_distr-challenge"

    vendor = models.ForeignKey("customers.Vendor", on_delete=models.CASCADE, related_name="domains")
    host = models.CharField(max_length=253, validators=[host_validator])
    token = models.CharField(max_length=64, default=domain_token_new, editable=False)
    verified_at = models.DateTimeField(null=True, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    check_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["host"]
        constraints = [
            models.UniqueConstraint(
                fields=["vendor", "host"], name="portal_domain_once_per_vendor"
            ),
            # Also the index the host gate reads on every request for a vendor domain.
            models.UniqueConstraint(
                fields=["host"],
                condition=models.Q(verified_at__isnull=False),
                name="portal_domain_verified_by_one_vendor",
            ),
        ]

    def __str__(self) -> str:
        return self.host

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None

    @property
    def challenge_name(self) -> str:
        return f"{self.CHALLENGE_LABEL}.{self.host}"


class Invitation(models.Model):
    """An invitation to the vendor's portal: as staff (customer is null) or as a user of
    one customer. Only a hash of the link's key is stored."""

    vendor = models.ForeignKey("customers.Vendor", on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    email = models.EmailField()
    role = models.CharField(max_length=16)  # VendorMember.Role or CustomerMember.Role
    key_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["vendor", "customer", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.email} → {self.customer_id or 'staff'}"


class ReleaseNotice(models.Model):
    """A release email sent: at most one per customer user, repository and tag, however
    often the tag is pushed again (portal/notices.py)."""

    member = models.ForeignKey(
        "customers.CustomerMember", on_delete=models.CASCADE, related_name="release_notices_sent"
    )
    repository = models.CharField(max_length=255)
    tag = models.CharField(max_length=128)
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["member", "repository", "tag"], name="release_notice_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.repository}:{self.tag} -> member {self.member_id}"
