"""Celery entry points for the API: beat purges Idempotency-Key answers past their
lifetime (API_IDEMPOTENCY_HOURS)."""

from celery import shared_task

from api.idempotency import idempotency_keys_purge


@shared_task(name="api.tasks.idempotency_keys_purge", ignore_result=True)
def idempotency_keys_purge_task() -> int:
    return idempotency_keys_purge()
