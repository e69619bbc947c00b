from django.apps import AppConfig


class ApiConfig(AppConfig):
    """The vendor REST API (`/api/v1/`): customers, licenses, grants, tokens, content,
    audit and branding, through the same services the console uses (docs/api.md)."""

    name = "api"
    verbose_name = "REST API"
