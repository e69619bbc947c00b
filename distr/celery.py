"""The Celery app: broker = CELERY_BROKER_URL (REDIS_URL by default). Without a broker,
tasks run in process (task_always_eager), so `make run` works without Redis."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "distr.settings")

app = Celery("distr")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
