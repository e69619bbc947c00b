"""The storage lifecycle on the beat (GC_INTERVAL_SECONDS): retention rules, then one
garbage-collection run, which frees what the rules left unreferenced."""

import logging

from celery import shared_task

from lifecycle.services import retention_apply_all
from registry.gc import GcBusy, gc_run

log = logging.getLogger(__name__)


@shared_task(name="lifecycle.tasks.lifecycle_run", ignore_result=True)
def lifecycle_run() -> None:
    retention_apply_all(actor="task:lifecycle_run")
    try:
        gc_run(actor="task:lifecycle_run")
    except GcBusy:  # the previous run is still going: it frees the same things
        log.info("gc: a run is in progress; skipped")
