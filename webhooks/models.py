"""Webhook endpoints a vendor registers, the deliveries of events to them (the outbox),
each attempt at sending one, and the markers that make time-based and first-time events
fire once."""

import json

from django.conf import settings
from django.db import models


class WebhookEndpoint(models.Model):
    vendor = models.ForeignKey(
        "customers.Vendor", on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=200, blank=True)
    # `whsec_<base64>`: the HMAC key. Kept in clear because signing needs it; shown to
    # people only at creation and on rotation.
    secret = models.CharField(max_length=100)
    # After a rotation the previous secret also signs, until this time, so a receiver can
    # switch keys without dropping deliveries (Standard Webhooks' multiple signatures).
    previous_secret = models.CharField(max_length=100, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    event_types = models.JSONField(default=list)  # short names: "artifact.pushed", ...
    enabled = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["vendor", "enabled"])]

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(models.Model):
    """One event for one endpoint. Created in the transaction of the change it reports;
    its state moves only by conditional updates (webhooks/delivery.py)."""

    class State(models.TextChoices):
        PENDING = "pending"  # waiting for next_attempt_at
        SENDING = "sending"  # claimed by a worker until lease_until
        DELIVERED = "delivered"  # a 2xx was recorded
        FAILED = "failed"  # gave up (schedule exhausted, or the target is refused)

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event_id = models.CharField(max_length=64)  # CloudEvents id = webhook-id header
    event_type = models.CharField(max_length=64)  # short name
    payload = models.JSONField()  # the CloudEvent, exactly as sent
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    last_latency_ms = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "event_id"], name="webhook_delivery_event_unique"
            )
        ]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"]),
            models.Index(fields=["endpoint", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id} → {self.endpoint_id} ({self.state})"

    @property
    def payload_pretty(self) -> str:
        return json.dumps(self.payload, indent=2, ensure_ascii=False, sort_keys=True)


class WebhookAttempt(models.Model):
    """One try at sending a delivery: opened when a worker claims it (so a worker that
    dies mid-send leaves an attempt without an answer), closed with the answer."""

    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log"
    )
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    response_excerpt = models.CharField(max_length=500, blank=True)
    address = models.CharField(max_length=64, blank=True)  # the IP connected to

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(
                fields=["delivery", "number"], name="webhook_attempt_number_unique"
            )
        ]

    def __str__(self) -> str:
        return f"#{self.number} {self.status_code or self.error}"


class LicenseNotice(models.Model):
    """A time-based license event already emitted (`expiring-30`, `expiring-7`,
    `expiring-1`, `expired`), so the beat task emits each once per license."""

    license = models.ForeignKey("licensing.License", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16)
    valid_until = models.DateField()  # a renewal (new date) makes the notices due again
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["license", "kind", "valid_until"], name="license_notice_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.license_id} ({self.valid_until})"


class CustomerFirstPull(models.Model):
    """The customer's first pull was announced (customer.first_pull fires once)."""

    customer = models.OneToOneField(
        "customers.Customer", on_delete=models.CASCADE, related_name="+", primary_key=True
    )
    pulled_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.customer_id} first pulled {self.pulled_at}"
