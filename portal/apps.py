from django.apps import AppConfig


class PortalConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "portal"

    def ready(self):
        from customers.observers import audit_observer_register
        from portal import notices, signals  # noqa: F401 - signals connects its receivers

        audit_observer_register(notices.on_audit)  # release emails (portal/notices.py)
