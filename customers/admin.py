"""Admin for tenants and tokens. Token secrets are never stored, and their hashes are
never displayed: tokens are minted and revoked through services (commands, portal)."""

from django.contrib import admin, messages

from customers.models import AccessToken, AuditEvent, Customer, CustomerMember, Vendor, VendorMember
from customers.services import token_revoke


class NoDeleteAdmin(admin.ModelAdmin):
    """Deleting here would bypass services (revocation, cache invalidation, audit)."""

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Vendor)
class VendorAdmin(NoDeleteAdmin):
    list_display = ["slug", "name", "created_at"]

    def get_readonly_fields(self, request, obj=None):
        # The slug is the registry namespace: renaming would hand its repositories' names
        # to whoever takes the old slug.
        return ["slug"] if obj else []

    search_fields = ["slug", "name"]


@admin.register(VendorMember)
class VendorMemberAdmin(admin.ModelAdmin):
    list_display = ["user", "vendor", "role"]
    list_filter = ["role", "vendor"]


@admin.register(Customer)
class CustomerAdmin(NoDeleteAdmin):
    list_display = ["slug", "name", "vendor", "contact_email", "created_at"]

    def get_readonly_fields(self, request, obj=None):
        return ["vendor", "slug"] if obj else []  # tokens and licenses hang off both

    list_filter = ["vendor"]
    search_fields = ["slug", "name"]


@admin.register(CustomerMember)
class CustomerMemberAdmin(admin.ModelAdmin):
    list_display = ["user", "customer", "role"]


@admin.action(description="Revoke selected tokens")
def revoke_tokens(modeladmin, request, queryset):
    revoked = sum(token_revoke(token=token, revoked_by=request.user) for token in queryset)
    modeladmin.message_user(request, f"revoked {revoked} token(s)", messages.SUCCESS)


@admin.register(AccessToken)
class AccessTokenAdmin(NoDeleteAdmin):
    list_display = [
        "prefix",
        "name",
        "kind",
        "vendor",
        "customer",
        "expires_at",
        "revoked_at",
        "last_used_at",
    ]
    list_filter = ["kind", "vendor"]
    search_fields = ["prefix", "name"]
    exclude = ["secret_hash"]
    readonly_fields = [
        "prefix",
        "kind",
        "vendor",
        "customer",
        "name",
        "repository_patterns",
        "actions",
        "expires_at",
        "revoked_at",
        "last_used_at",
        "created_by",
        "created_at",
    ]
    actions = [revoke_tokens]

    def has_add_permission(self, request):
        return False  # minting shows the secret once: use `createtoken` or the portal


@admin.register(AuditEvent)
class AuditEventAdmin(NoDeleteAdmin):
    list_display = ["created_at", "action", "vendor", "actor", "target", "client_address"]
    list_filter = ["action", "vendor"]
    search_fields = ["target", "actor"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
