"""Admin for tenants and tokens: a read-only view for operators. Every change goes through
a service (console, commands), which bumps the change generations the caches check and
writes the audit row in the same transaction; an admin form would do neither. Token
secrets are never stored, and their hashes are never displayed."""

from django.contrib import admin, messages

from customers.models import AccessToken, AuditEvent, Customer, CustomerMember, Vendor, VendorMember
from customers.services import token_revoke


class ReadOnlyAdmin(admin.ModelAdmin):
    """Adding, changing or deleting here would bypass services (generations, audit)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Vendor)
class VendorAdmin(ReadOnlyAdmin):
    list_display = ["slug", "name", "created_at"]
    search_fields = ["slug", "name"]


@admin.register(VendorMember)
class VendorMemberAdmin(ReadOnlyAdmin):
    list_display = ["user", "vendor", "role"]
    list_filter = ["role", "vendor"]


@admin.register(Customer)
class CustomerAdmin(ReadOnlyAdmin):
    list_display = ["slug", "name", "vendor", "contact_email", "suspended_at", "created_at"]
    list_filter = ["vendor"]
    search_fields = ["slug", "name"]


@admin.register(CustomerMember)
class CustomerMemberAdmin(ReadOnlyAdmin):
    list_display = ["user", "customer", "role"]


@admin.action(description="Revoke selected tokens")
def revoke_tokens(modeladmin, request, queryset):
    revoked = sum(token_revoke(token=token, revoked_by=request.user) for token in queryset)
    modeladmin.message_user(request, f"revoked {revoked} token(s)", messages.SUCCESS)


@admin.register(AccessToken)
class AccessTokenAdmin(ReadOnlyAdmin):
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
        "scopes",
        "expires_at",
        "revoked_at",
        "last_used_at",
        "created_by",
        "created_at",
    ]
    actions = [revoke_tokens]
    # Minting shows the secret once: `createtoken`, `apitoken` or the portal; revoking: the
    # action.


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "action", "vendor", "actor", "target", "client_address"]
    list_filter = ["action", "vendor"]
    search_fields = ["target", "actor"]
