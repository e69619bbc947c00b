from django.core.management.base import BaseCommand

from analytics.ingestion import ingest_pass


class Command(BaseCommand):
    help = "Run one pull-event ingestion pass in this process; print how many events it stored."

    def add_arguments(self, parser):
        parser.add_argument("--max-batches", type=int, default=None)

    def handle(self, *args, max_batches=None, **options):
        result = ingest_pass(max_batches=max_batches)
        if result.redis_unreachable:
            self.stderr.write("Redis unreachable: only the database outbox was ingested")
        self.stdout.write(f"stored {result.stored} pull events")
