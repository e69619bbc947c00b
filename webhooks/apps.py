from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"

    def ready(self):
        from analytics.observers import pulls_observer_register
        from customers.observers import audit_observer_register
        from webhooks.events import audit_observed, pulls_stored

        # Audited changes become events in their own transaction (the outbox), and the
        # analytics ingestion tells us which customers pulled (docs/webhooks.md).
        audit_observer_register(audit_observed)
        pulls_observer_register(pulls_stored)
