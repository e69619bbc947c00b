"""Read-only admin views of webhooks for operators (changes go through webhooks.services,
audited; redelivery is the console's button). The signing secrets are never shown."""

from django.contrib import admin

from customers.admin import ReadOnlyAdmin
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ReadOnlyAdmin):
    list_display = ("url", "vendor", "enabled", "created_at")
    list_filter = ("enabled",)
    search_fields = ("url", "vendor__slug")
    exclude = ("secret", "previous_secret")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ("event_type", "endpoint", "state", "attempts", "last_status_code", "created_at")
    list_filter = ("state", "event_type")
    search_fields = ("event_id", "endpoint__url")
    list_select_related = ("endpoint",)


@admin.register(WebhookAttempt)
class WebhookAttemptAdmin(ReadOnlyAdmin):
    list_display = ("delivery", "number", "status_code", "latency_ms", "started_at", "address")
    list_select_related = ("delivery",)
