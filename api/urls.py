from django.urls import path

from api.views import (
    audit,
    branding,
    check_in,
    content,
    customers,
    guards,
    kits,
    licenses,
    plans,
    tokens,
    webhooks,
)

urlpatterns = [
    path("customers/", customers.CustomerList.as_view(), name="api-customers"),
    path("customers/<slug:slug>", customers.CustomerDetail.as_view(), name="api-customer"),
    path(
        "customers/<slug:slug>/suspend",
        customers.CustomerSuspend.as_view(),
        name="api-customer-suspend",
    ),
    path(
        "customers/<slug:slug>/resume",
        customers.CustomerResume.as_view(),
        name="api-customer-resume",
    ),
    path(
        "customers/<slug:slug>/users/", customers.CustomerUsers.as_view(), name="api-customer-users"
    ),
    path(
        "customers/<slug:slug>/users/<int:member_id>",
        customers.CustomerUser.as_view(),
        name="api-customer-user",
    ),
    path(
        "customers/<slug:slug>/invitations/",
        customers.CustomerInvitations.as_view(),
        name="api-customer-invitations",
    ),
    path("licenses/", licenses.LicenseList.as_view(), name="api-licenses"),
    path("licenses/<int:license_id>", licenses.LicenseDetail.as_view(), name="api-license"),
    path(
        "licenses/<int:license_id>/suspend",
        licenses.LicenseStatus.as_view(),
        name="api-license-suspend",
    ),
    path(
        "licenses/<int:license_id>/resume",
        licenses.LicenseResume.as_view(),
        name="api-license-resume",
    ),
    path(
        "licenses/<int:license_id>/renew", licenses.LicenseRenew.as_view(), name="api-license-renew"
    ),
    path("licenses/<int:license_id>/grants/", licenses.GrantList.as_view(), name="api-grants"),
    path(
        "licenses/<int:license_id>/grants/<int:grant_id>",
        licenses.GrantDetail.as_view(),
        name="api-grant",
    ),
    path("licenses/<int:license_id>/plan", plans.LicensePlan.as_view(), name="api-license-plan"),
    path("licenses/<int:license_id>/key", plans.LicenseKey.as_view(), name="api-license-key"),
    path(
        "licenses/<int:license_id>/instances/",
        plans.LicenseInstances.as_view(),
        name="api-license-instances",
    ),
    path("entitlement-fields/", plans.FieldList.as_view(), name="api-fields"),
    path("entitlement-fields/<slug:key>", plans.FieldDetail.as_view(), name="api-field"),
    path("plans/", plans.PlanList.as_view(), name="api-plans"),
    path("plans/<int:plan_id>", plans.PlanDetail.as_view(), name="api-plan"),
    path("license/check-in", check_in.CheckIn.as_view(), name="api-license-check-in"),
    path("grants/preview", licenses.GrantPreview.as_view(), name="api-grant-preview"),
    path("kits/", kits.KitList.as_view(), name="api-kits"),
    path("kits/<uuid:kit_id>", kits.KitDetail.as_view(), name="api-kit"),
    path("kits/<uuid:kit_id>/download", kits.KitDownload.as_view(), name="api-kit-download"),
    path("tokens/", tokens.TokenList.as_view(), name="api-tokens"),
    path("tokens/<str:prefix>", tokens.TokenDetail.as_view(), name="api-token"),
    path("repositories/", content.RepositoryList.as_view(), name="api-repositories"),
    path("repositories/<path:name>/tags/", content.TagList.as_view(), name="api-tags"),
    path(
        "repositories/<path:name>/tags/<str:reference>", content.TagDetail.as_view(), name="api-tag"
    ),
    path(
        "repositories/<path:name>/manifests/<str:reference>",
        content.ManifestDetail.as_view(),
        name="api-manifest",
    ),
    path("immutable-tag-rules/", guards.ImmutableTagRuleList.as_view(), name="api-immutable-rules"),
    path(
        "immutable-tag-rules/<int:rule_id>",
        guards.ImmutableTagRuleDetail.as_view(),
        name="api-immutable-rule",
    ),
    path("storage", guards.StorageDetail.as_view(), name="api-storage"),
    path("audit-events/", audit.AuditEventList.as_view(), name="api-audit-events"),
    path("branding", branding.BrandingDetail.as_view(), name="api-branding"),
    path("webhooks/", webhooks.WebhookList.as_view(), name="api-webhooks"),
    path("webhooks/<int:endpoint_id>", webhooks.WebhookDetail.as_view(), name="api-webhook"),
    path(
        "webhooks/<int:endpoint_id>/rotate-secret",
        webhooks.WebhookRotateSecret.as_view(),
        name="api-webhook-rotate",
    ),
    path(
        "webhooks/<int:endpoint_id>/test", webhooks.WebhookTest.as_view(), name="api-webhook-test"
    ),
    path(
        "webhooks/<int:endpoint_id>/deliveries/",
        webhooks.WebhookDeliveryList.as_view(),
        name="api-webhook-deliveries",
    ),
    path(
        "webhooks/<int:endpoint_id>/deliveries/<int:delivery_id>/redeliver",
        webhooks.WebhookRedeliver.as_view(),
        name="api-webhook-redeliver",
    ),
]
