import datetime

from django.core.management.base import BaseCommand

from registry.services.uploads import upload_purge_stale


class Command(BaseCommand):
    help = "Cancel blob uploads that have not been touched for a while and free their space."

    def add_arguments(self, parser):
        parser.add_argument("--older-than-hours", type=float, default=24.0)

    def handle(self, *args, older_than_hours: float, **options):
        count = upload_purge_stale(older_than=datetime.timedelta(hours=older_than_hours))
        self.stdout.write(f"purged {count} stale upload(s)")
