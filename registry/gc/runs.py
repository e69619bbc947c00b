"""A garbage-collection run: phases, progress, figures, and what a killed run leaves.

Phases: manifests (repeated until a pass frees nothing: freeing an index frees its
children on the next pass), blobs, and with `full` the storage listing for objects no
row knows. Progress is saved after every batch (`GcRun`, the console and /metrics read
it); a run whose heartbeat stops (SIGKILL, OOM) is marked interrupted by the next run,
which starts over: every candidate query reads the database as it is, so nothing a
dead run did is lost and nothing it half-did is trusted.
"""

import datetime
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from customers.models import AuditEvent, Vendor
from customers.services import audit_record
from registry.gc import marks
from registry.gc.sweep import Swept, blobs_sweep, manifests_sweep, orphan_objects_sweep
from registry.models import GcRun
from registry.storage import blob_store

log = logging.getLogger(__name__)


class GcBusy(Exception):
    """Another run is alive (its heartbeat is fresh)."""


def gc_run(
    *,
    dry_run: bool = False,
    full: bool = False,
    grace: datetime.timedelta | None = None,
    actor: str = "",
    names: list | None = None,
) -> GcRun:
    """Mark and sweep once. `names`, when given, collects what went (or would go)."""
    grace = grace if grace is not None else datetime.timedelta(seconds=settings.GC_GRACE_SECONDS)
    run = _start(dry_run=dry_run, full=full, grace=grace)
    cutoff = run.started_at - grace
    names = names if names is not None else []
    try:
        gone = _manifests_phase(run, cutoff, dry_run, names)
        _blobs_phase(run, cutoff, dry_run, gone, names)
        if full:
            _orphans_phase(run, cutoff, dry_run, names)
    except BaseException as error:
        GcRun.objects.filter(pk=run.pk).update(
            status=GcRun.Status.FAILED, finished_at=timezone.now(), error=repr(error)[:2000]
        )
        raise
    return _finish(run, actor)


def gc_last_finished() -> GcRun | None:
    return GcRun.objects.filter(status=GcRun.Status.FINISHED, dry_run=False).first()


def gc_runs_recent(*, limit: int = 10) -> list[GcRun]:
    return list(GcRun.objects.all()[:limit])


def _start(*, dry_run: bool, full: bool, grace: datetime.timedelta) -> GcRun:
    now = timezone.now()
    stale = now - datetime.timedelta(seconds=settings.GC_STALE_SECONDS)
    with transaction.atomic():
        GcRun.objects.filter(status=GcRun.Status.RUNNING, heartbeat_at__lt=stale).update(
            status=GcRun.Status.INTERRUPTED, finished_at=now
        )
        # Two live runs would still be safe (every delete re-checks under a lock), only
        # wasteful: refuse the second.
        if (
            not dry_run
            and GcRun.objects.filter(status=GcRun.Status.RUNNING, dry_run=False).exists()
        ):
            raise GcBusy("a garbage-collection run is in progress")
        return GcRun.objects.create(
            dry_run=dry_run,
            full=full,
            grace_seconds=int(grace.total_seconds()),
            heartbeat_at=now,
            phase="manifests",
        )


def _progress(run: GcRun, swept: Swept, *, examined: int, phase: str, kind: str, examined_bytes=0):
    """Add one batch's figures to the run's row (one UPDATE; also the heartbeat)."""
    fields = {
        "phase": phase,
        "heartbeat_at": timezone.now(),
        "skipped_busy": F("skipped_busy") + swept.busy,
    }
    if kind == "manifests":
        fields |= {
            "manifests_examined": F("manifests_examined") + examined,
            "manifests_freed": F("manifests_freed") + swept.freed,
        }
    elif kind == "blobs":
        fields |= {
            "blobs_examined": F("blobs_examined") + examined,
            "bytes_examined": F("bytes_examined") + examined_bytes,
            "blobs_freed": F("blobs_freed") + swept.freed,
        }
    else:
        fields |= {"objects_orphaned_freed": F("objects_orphaned_freed") + swept.freed}
    fields["bytes_freed"] = F("bytes_freed") + swept.bytes
    GcRun.objects.filter(pk=run.pk).update(**fields)
    for vendor_id, size in swept.by_vendor.items():
        key = str(vendor_id)
        run.freed_by_vendor[key] = run.freed_by_vendor.get(key, 0) + size


def _manifests_phase(run: GcRun, cutoff, dry_run: bool, names: list) -> set[int]:
    batch = settings.GC_BATCH_SIZE
    gone: set[int] = set()
    candidates_next = None
    while True:
        freed_this_pass = 0
        after_id = 0
        while True:
            if candidates_next is None:
                candidates = marks.manifests_unreached(
                    cutoff=cutoff, after_id=after_id, limit=batch
                )
            else:  # a dry run's later passes: what the previous pass would have freed
                candidates, candidates_next = candidates_next[:batch], candidates_next[batch:]
            if not candidates:
                break
            swept = manifests_sweep(candidates, cutoff=cutoff, dry_run=dry_run, gone=gone)
            gone |= swept.ids
            names += swept.names
            freed_this_pass += swept.freed
            after_id = candidates[-1][0]
            _progress(run, swept, examined=len(candidates), phase="manifests", kind="manifests")
            if candidates_next is not None and not candidates_next:
                break
        if not freed_this_pass:
            return gone
        if dry_run:
            candidates_next = marks.manifests_freed_by(gone, cutoff=cutoff)
            if not candidates_next:
                return gone


def _blobs_phase(run: GcRun, cutoff, dry_run: bool, gone: set[int], names: list) -> None:
    batch = settings.GC_BATCH_SIZE
    after = ""
    while True:
        # Asked afresh per batch, like the candidates: an upload started or a kit built
        # since the last batch counts.
        kept = marks.uploads_running_digests() | marks.blobs_kept()
        candidates = marks.blobs_unreferenced(
            cutoff=cutoff, after=after, limit=batch, gone=gone if dry_run else ()
        )
        if not candidates:
            return
        swept = blobs_sweep(
            candidates,
            cutoff=cutoff,
            dry_run=dry_run,
            gone=gone if dry_run else set(),
            kept=kept,
        )
        names += swept.names
        after = candidates[-1][0]
        _progress(
            run,
            swept,
            examined=len(candidates),
            phase="blobs",
            kind="blobs",
            examined_bytes=sum(size for _, size in candidates),
        )


def _orphans_phase(run: GcRun, cutoff, dry_run: bool, names: list) -> None:
    batch: list = []
    for item in blob_store().blob_objects():
        batch.append(item)
        if len(batch) >= 1000:
            _orphans_batch(run, batch, cutoff, dry_run, names)
            batch = []
    if batch:
        _orphans_batch(run, batch, cutoff, dry_run, names)


def _orphans_batch(run, batch, cutoff, dry_run, names) -> None:
    swept = orphan_objects_sweep(batch, cutoff=cutoff, dry_run=dry_run)
    names += swept.names
    _progress(run, swept, examined=len(batch), phase="storage", kind="objects")


def _finish(run: GcRun, actor: str) -> GcRun:
    with transaction.atomic():
        GcRun.objects.filter(pk=run.pk).update(
            status=GcRun.Status.FINISHED,
            phase="",
            finished_at=timezone.now(),
            freed_by_vendor=run.freed_by_vendor,
        )
        run.refresh_from_db()
        if not run.dry_run:
            figures = {
                "run": run.id,
                "manifests_freed": run.manifests_freed,
                "blobs_freed": run.blobs_freed,
                "bytes_freed": run.bytes_freed,
                "duration_seconds": run.duration_seconds,
            }
            audit_record(
                action=AuditEvent.Action.GC_COMPLETED,
                actor=actor,
                target=f"gc:{run.id}",
                details=figures,
            )
            vendors = Vendor.objects.in_bulk([int(v) for v in run.freed_by_vendor])
            for vendor_id, freed in run.freed_by_vendor.items():
                audit_record(
                    vendor=vendors.get(int(vendor_id)),
                    action=AuditEvent.Action.GC_COMPLETED,
                    actor=actor,
                    target=f"gc:{run.id}",
                    details={"run": run.id, "bytes_freed": freed},
                )
    log.info(
        "gc run %s: %s manifests, %s blobs, %s bytes freed",
        run.id,
        run.manifests_freed,
        run.blobs_freed,
        run.bytes_freed,
    )
    return run
