"""`manage.py check --deploy` additions for a multi-instance install."""

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def shared_state_check(app_configs, **kwargs):
    problems = []
    if not settings.REGISTRY_TOKEN_KEY:
        problems.append(
            Warning(
                "REGISTRY_TOKEN_KEY is not set: each instance would sign registry tokens "
                "with its own key file, and refuse the others' tokens.",
                hint="Set REGISTRY_TOKEN_KEY to one PEM EC P-256 key (docs/deploy.md).",
                id="distr.W001",
            )
        )
    if settings.STORAGE_BACKEND == "filesystem":
        problems.append(
            Warning(
                "STORAGE_BACKEND=filesystem: blobs live on this host's disk, so instances "
                "on other hosts cannot serve them.",
                hint="Use STORAGE_BACKEND=s3 for more than one host.",
                id="distr.W002",
            )
        )
    if not settings.REDIS_URL:
        problems.append(
            Warning(
                "REDIS_URL is not set: the shared cache lives in the database, and Celery "
                "has no broker.",
                id="distr.W003",
            )
        )
    return problems
