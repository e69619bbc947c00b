"""White-label portal state: each vendor's branding, the host names its portal answers on,
and invitations (the only way to get a portal account)."""

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


class VendorDomain(models.Model):
    """A host name (custom domain or sub-domain) that serves one vendor's portal."""

    vendor = models.ForeignKey("customers.Vendor", on_delete=models.CASCADE, related_name="domains")
    host = models.CharField(max_length=253, unique=True, validators=[host_validator])
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["host"]

    def __str__(self) -> str:
        return self.host


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
