"""Celery entry points of the registry."""

from celery import shared_task

from registry.services.guards import storage_snapshots_take as _take


@shared_task(name="registry.tasks.storage_snapshots_take", ignore_result=True)
def storage_snapshots_take() -> int:
    return _take()
