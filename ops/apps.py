from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Operations: health probes, Prometheus metrics, request logs, deploy checks."""

    name = "ops"

    def ready(self):
        from django.apps import apps
        from django.db.models.signals import post_migrate

        from ops import checks  # noqa: F401 - registers the deploy checks

        # post_migrate is only sent for apps with models; ops has none, registry always does.
        post_migrate.connect(_create_cache_table, sender=apps.get_app_config("registry"))


def _create_cache_table(using: str, **kwargs) -> None:
    """`migrate` also creates the database cache's table (a no-op with Redis or when it
    exists), so no install needs a separate `createcachetable` step."""
    from django.core.management import call_command

    call_command("createcachetable", database=using, verbosity=0)
