"""Read-only: rules change through lifecycle.services (validated and audited)."""

from django.contrib import admin

from lifecycle.models import RetentionRule


@admin.register(RetentionRule)
class RetentionRuleAdmin(admin.ModelAdmin):
    list_display = ["vendor", "repository_pattern", "tag_pattern", "keep_newest", "untagged_days"]
    list_filter = ["vendor"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
