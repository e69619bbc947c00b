from django.apps import AppConfig


class AirgapConfig(AppConfig):
    name = "airgap"
    verbose_name = "Air-gap kits"
    default_auto_field = "django.db.models.BigAutoField"
