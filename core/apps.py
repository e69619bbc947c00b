from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Mechanisms every app uses and that belong to none of them: change generations
    (how processes agree on what changed), bounded memos, version ordering, globs."""

    name = "core"
    verbose_name = "Shared mechanisms"
