import datetime

from django.core.management.base import BaseCommand  # noqa: F401 - CommandError users

from customers.management.base import AuditedCommand
from registry.services.uploads import orphan_multipart_abort, upload_purge_stale
from registry.storage import blob_store


class Command(AuditedCommand):
    help = "Cancel blob uploads that have not been touched for a while and free their space."

    def add_arguments(self, parser):
        parser.add_argument("--older-than-hours", type=float, default=24.0)

    def handle(self, *args, older_than_hours: float, **options):
        older_than = datetime.timedelta(hours=older_than_hours)
        count = upload_purge_stale(older_than=older_than)
        self.stdout.write(f"purged {count} stale upload(s)")
        if blob_store().multipart:  # object storage: also multipart uploads nobody recorded
            orphans = orphan_multipart_abort(older_than=older_than)
            self.stdout.write(f"aborted {orphans} orphaned multipart upload(s)")
