from django.contrib import admin

from api.models import IdempotencyKey
from customers.admin import ReadOnlyAdmin


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(ReadOnlyAdmin):
    """Read-only: stored first answers of POSTs with an Idempotency-Key (purged daily)."""

    list_display = ("key", "created_at")
    search_fields = ("key",)
