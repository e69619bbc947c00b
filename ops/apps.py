from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Operations: health probes, Prometheus metrics, request logs, deploy checks."""

    name = "ops"

    def ready(self):
        from ops import checks  # noqa: F401 - registers the deploy checks
