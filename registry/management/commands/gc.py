"""manage.py gc [--dry-run] [--full] [--grace-seconds N]: one garbage-collection run
(docs/gc.md). Safe while the registry serves; a dry run lists what would go."""

import datetime

from customers.management.base import AuditedCommand
from registry.gc import GcBusy, gc_run


class Command(AuditedCommand):
    help = "Delete manifests and blobs nothing reaches, older than the grace period."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="list, delete nothing")
        parser.add_argument("--full", action="store_true", help="also list storage for orphans")
        parser.add_argument("--grace-seconds", type=int, default=None)

    def handle(self, *args, dry_run, full, grace_seconds, **options):
        grace = None if grace_seconds is None else datetime.timedelta(seconds=grace_seconds)
        names: list[str] = []
        try:
            run = gc_run(dry_run=dry_run, full=full, grace=grace, names=names)
        except GcBusy as error:
            self.stderr.write(str(error))
            raise SystemExit(1) from None
        if dry_run:
            for name in names:
                self.stdout.write(f"would delete {name}")
        verb = "would free" if dry_run else "freed"
        self.stdout.write(
            f"gc run {run.id}: examined {run.manifests_examined} manifests, "
            f"{run.blobs_examined} blobs ({run.bytes_examined} bytes); {verb} "
            f"{run.manifests_freed} manifests, {run.blobs_freed} blobs, "
            f"{run.objects_orphaned_freed} orphan objects, {run.bytes_freed} bytes "
            f"in {run.duration_seconds:.2f} s"
        )
