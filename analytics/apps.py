from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "analytics"

    def ready(self):
        from analytics.capture import pull_record
        from registry.observers import pull_observer_register

        # The registry reports pulls through this hook (docs/architecture.md).
        pull_observer_register(pull_record)
