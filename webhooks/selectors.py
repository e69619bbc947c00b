"""Webhook reads, every one scoped to the vendor first."""

from django.db.models import Prefetch, QuerySet

from customers.models import Vendor
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint


def endpoint_list(*, vendor: Vendor) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(vendor=vendor)


def endpoint_get(*, vendor: Vendor, endpoint_id: int) -> WebhookEndpoint | None:
    return WebhookEndpoint.objects.filter(vendor=vendor, pk=endpoint_id).first()


def delivery_list(*, vendor: Vendor, endpoint: WebhookEndpoint, limit: int = 50):
    """The newest deliveries of one endpoint with every attempt (two queries)."""
    return list(
        WebhookDelivery.objects.filter(endpoint__vendor=vendor, endpoint=endpoint)
        .prefetch_related(Prefetch("attempt_log", queryset=WebhookAttempt.objects.all()))
        .order_by("-created_at", "-id")[:limit]
    )


def delivery_get(
    *, vendor: Vendor, endpoint: WebhookEndpoint, delivery_id: int
) -> WebhookDelivery | None:
    return WebhookDelivery.objects.filter(
        endpoint__vendor=vendor, endpoint=endpoint, pk=delivery_id
    ).first()
