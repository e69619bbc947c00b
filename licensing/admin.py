from django.contrib import admin

from licensing.models import License, LicenseGrant


class LicenseGrantInline(admin.TabularInline):
    model = LicenseGrant
    extra = 0
    readonly_fields = ["repository_name", "rule", "pattern", "include_referrers"]
    can_delete = False


@admin.register(License)
class LicenseAdmin(admin.ModelAdmin):
    """Read-only: licenses change through services (they invalidate entitlement caches)."""

    list_display = ["name", "customer", "vendor", "valid_from", "valid_until", "status"]
    list_filter = ["status", "vendor"]
    inlines = [LicenseGrantInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
