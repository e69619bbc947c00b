from django.db import models


class ChangeGeneration(models.Model):
    """The shared state every process validates its memos against (core/changes.py).

    One row per thing whose derived state processes keep in memory (a repository's
    content, a customer's licenses, a token's liveness). The writing service replaces the
    value inside its own transaction, so the new generation commits with the change."""

    name = models.CharField(max_length=300, primary_key=True)
    value = models.BigIntegerField()

    class Meta:
        # Created by registry's migration 0005, before the model moved here.
        db_table = "registry_changegeneration"

    def __str__(self) -> str:
        return f"{self.name}={self.value}"
