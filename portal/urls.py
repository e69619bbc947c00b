"""Portal routes. They are mounted at the root: on a vendor's own host as they are, on
the embedded default under /p/<vendor-slug>/ (PortalTenantMiddleware strips and restores
the prefix, so reverse() gives the right URL either way)."""

from django.urls import path

from portal.views import (
    analytics,
    console_admin,
    console_api_tokens,
    console_customers,
    console_kits,
    console_license_keys,
    console_lifecycle,
    console_storage,
    console_webhooks,
    customer,
    customer_kits,
    customer_license,
    public,
    signing_keys,
)

app_name = "portal"

urlpatterns = [
    path("", public.home, name="home"),
    path("invite/<str:key>/", public.invitation, name="invitation"),
    path("brand/theme.css", public.brand_theme, name="brand-theme"),
    path("brand/logo", public.brand_logo, name="brand-logo"),
    path("brand/favicon", public.brand_favicon, name="brand-favicon"),
    path("favicon.ico", public.favicon_ico, name="favicon-ico"),
    path("keys/jwks.json", signing_keys.public_jwks, name="jwks"),
    path("keys/<str:kid>.pem", signing_keys.public_key_pem, name="public-key-pem"),
    # Customer pages
    path("overview/", customer.overview, name="overview"),
    path("artifacts/", customer.artifacts, name="artifacts"),
    path("artifacts/notices", customer.release_notices, name="release-notices"),
    path("tokens/", customer.tokens, name="tokens"),
    path("licenses/", customer_license.licenses, name="licenses"),
    path(
        "licenses/<int:license_id>/key.jwt",
        customer_license.license_key_download,
        name="license-key",
    ),
    path("licenses/check-in", customer_license.check_in_upload, name="license-check-in-upload"),
    path("tokens/<int:token_id>/revoke", customer.token_revoke_view, name="token-revoke"),
    path("team/", customer.team, name="team"),
    path("kits/", customer_kits.kits, name="kits"),
    path("kits/<uuid:kit_id>/download", customer_kits.kit_download, name="kit-download"),
    path("console/kits/", console_kits.kit_list_page, name="console-kits"),
    path("history/", analytics.history, name="history"),
    path("team/<int:member_id>/remove", customer.team_remove, name="team-remove"),
    path(
        "team/invitations/<int:invitation_id>/revoke",
        customer.team_invitation_revoke,
        name="team-invitation-revoke",
    ),
    # Vendor console
    path("console/", console_admin.console_home, name="console-home"),
    path("console/customers/", console_customers.customer_list, name="console-customers"),
    path(
        "console/customers/<str:slug>/", console_customers.customer_detail, name="console-customer"
    ),
    path(
        "console/customers/<str:slug>/suspend",
        console_customers.customer_suspend,
        name="console-customer-suspend",
    ),
    path(
        "console/customers/<str:slug>/delete",
        console_customers.customer_delete_view,
        name="console-customer-delete",
    ),
    path(
        "console/customers/<str:slug>/invite",
        console_customers.customer_invite,
        name="console-customer-invite",
    ),
    path(
        "console/customers/<str:slug>/invitations/<int:invitation_id>/revoke",
        console_customers.customer_invitation_revoke,
        name="console-customer-invitation-revoke",
    ),
    path(
        "console/customers/<str:slug>/tokens/<int:token_id>/revoke",
        console_customers.customer_token_revoke,
        name="console-customer-token-revoke",
    ),
    path(
        "console/customers/<str:slug>/members/<int:member_id>/remove",
        console_customers.customer_member_remove_view,
        name="console-customer-member-remove",
    ),
    path(
        "console/customers/<str:slug>/licenses/new",
        console_customers.license_create_view,
        name="console-license-create",
    ),
    path(
        "console/licenses/<int:license_id>/",
        console_customers.license_detail,
        name="console-license",
    ),
    path(
        "console/licenses/<int:license_id>/status",
        console_customers.license_status,
        name="console-license-status",
    ),
    path(
        "console/licenses/<int:license_id>/delete",
        console_customers.license_delete_view,
        name="console-license-delete",
    ),
    path(
        "console/licenses/<int:license_id>/grants/add",
        console_customers.grant_add_view,
        name="console-grant-add",
    ),
    path(
        "console/grants/<int:grant_id>/remove",
        console_customers.grant_remove_view,
        name="console-grant-remove",
    ),
    path("console/grant-preview", console_customers.grant_preview, name="console-grant-preview"),
    path("console/repositories/", console_admin.repository_list, name="console-repositories"),
    path(
        "console/repositories/<path:name>/manifests/<str:digest>",
        console_admin.manifest_detail,
        name="console-manifest",
    ),
    path(
        "console/repositories/<path:name>/delete",
        console_admin.repository_delete_reference,
        name="console-repository-delete",
    ),
    path(
        "console/repositories/<path:name>/",
        console_admin.repository_detail,
        name="console-repository",
    ),
    path("console/storage/", console_storage.storage, name="console-storage"),
    path(
        "console/immutable-tags/",
        console_storage.immutable_rules,
        name="console-immutable-rules",
    ),
    path(
        "console/immutable-tags/<int:rule_id>/delete",
        console_storage.immutable_rule_remove,
        name="console-immutable-rule-delete",
    ),
    path("console/plans/", console_license_keys.plans, name="console-plans"),
    path("console/plans/add", console_license_keys.plan_add, name="console-plan-add"),
    path("console/plans/<int:plan_id>/", console_license_keys.plan_detail, name="console-plan"),
    path(
        "console/plans/<int:plan_id>/delete",
        console_license_keys.plan_remove,
        name="console-plan-delete",
    ),
    path(
        "console/plans/fields/add",
        console_license_keys.field_add,
        name="console-entitlement-field-add",
    ),
    path(
        "console/plans/fields/<slug:key>/",
        console_license_keys.field_detail,
        name="console-entitlement-field",
    ),
    path(
        "console/plans/fields/<slug:key>/delete",
        console_license_keys.field_remove,
        name="console-entitlement-field-delete",
    ),
    path(
        "console/licenses/<int:license_id>/plan",
        console_license_keys.license_plan,
        name="console-license-plan",
    ),
    path("console/instances/", console_license_keys.instances, name="console-instances"),
    path("console/tokens/", console_admin.push_tokens, name="console-tokens"),
    path("console/keys/", signing_keys.console_signing_keys, name="console-signing-keys"),
    path(
        "console/keys/rotate",
        signing_keys.console_signing_key_rotate,
        name="console-signing-key-rotate",
    ),
    path(
        "console/keys/<str:kid>/retire",
        signing_keys.console_signing_key_retire,
        name="console-signing-key-retire",
    ),
    path(
        "console/tokens/<int:token_id>/revoke",
        console_admin.push_token_revoke,
        name="console-token-revoke",
    ),
    path("console/api-tokens/", console_api_tokens.api_tokens, name="console-api-tokens"),
    path(
        "console/api-tokens/<int:token_id>/revoke",
        console_api_tokens.api_token_revoke,
        name="console-api-token-revoke",
    ),
    path("console/branding/", console_admin.branding, name="console-branding"),
    path(
        "console/branding/<str:image>/remove",
        console_admin.branding_image_remove_view,
        name="console-branding-image-remove",
    ),
    path("console/branding/domains/add", console_admin.domain_add_view, name="console-domain-add"),
    path(
        "console/branding/domains/<int:domain_id>/remove",
        console_admin.domain_remove_view,
        name="console-domain-remove",
    ),
    path(
        "console/branding/domains/<int:domain_id>/verify",
        console_admin.domain_verify_view,
        name="console-domain-verify",
    ),
    path("console/staff/", console_admin.staff, name="console-staff"),
    path("console/staff/<int:member_id>/role", console_admin.staff_role, name="console-staff-role"),
    path(
        "console/staff/<int:member_id>/remove",
        console_admin.staff_remove_view,
        name="console-staff-remove",
    ),
    path(
        "console/staff/invitations/<int:invitation_id>/revoke",
        console_admin.staff_invitation_revoke,
        name="console-staff-invitation-revoke",
    ),
    path("console/lifecycle/", console_lifecycle.lifecycle_page, name="console-lifecycle"),
    path(
        "console/lifecycle/rules/<int:rule_id>/",
        console_lifecycle.rule_preview,
        name="console-retention-rule",
    ),
    path(
        "console/lifecycle/rules/<int:rule_id>/delete",
        console_lifecycle.rule_delete,
        name="console-retention-rule-delete",
    ),
    path("console/webhooks/", console_webhooks.webhook_list, name="console-webhooks"),
    path(
        "console/webhooks/<int:endpoint_id>/",
        console_webhooks.webhook_detail,
        name="console-webhook",
    ),
    path(
        "console/webhooks/<int:endpoint_id>/enable",
        console_webhooks.webhook_enable,
        name="console-webhook-enable",
    ),
    path(
        "console/webhooks/<int:endpoint_id>/rotate",
        console_webhooks.webhook_rotate,
        name="console-webhook-rotate",
    ),
    path(
        "console/webhooks/<int:endpoint_id>/delete",
        console_webhooks.webhook_delete,
        name="console-webhook-delete",
    ),
    path(
        "console/webhooks/<int:endpoint_id>/test",
        console_webhooks.webhook_test,
        name="console-webhook-test",
    ),
    path(
        "console/webhooks/<int:endpoint_id>/deliveries/<int:delivery_id>/redeliver",
        console_webhooks.webhook_redeliver,
        name="console-webhook-redeliver",
    ),
    path("console/audit/", console_admin.audit_log, name="console-audit"),
    path("console/audit/export.csv", console_admin.audit_export, name="console-audit-export"),
    path("console/analytics/", analytics.dashboard, name="console-analytics"),
    path(
        "console/analytics/export/<str:table>.csv",
        analytics.export,
        name="console-analytics-export",
    ),
    path(
        "console/analytics/customers/<str:slug>/",
        analytics.customer_dashboard,
        name="console-analytics-customer",
    ),
]
