from django.contrib import admin

from customers.admin import ReadOnlyAdmin
from signing.models import SigningKey


@admin.register(SigningKey)
class SigningKeyAdmin(ReadOnlyAdmin):
    """Keys change through signing.services (audited); the sealed private key is never
    shown."""

    list_display = ("kid", "vendor", "is_current", "created_at", "retired_at")
    list_filter = ("is_current",)
    exclude = ("private_key_sealed", "public_key")
