from django.core.management.base import BaseCommand, CommandError

from analytics.exports import rows_to_csv, rows_to_json
from analytics.selectors import (
    DAILY_ROLLUP_COLUMNS as COLUMNS,
)
from analytics.selectors import (
    MAX_RANGE_DAYS,
    daily_rollups,
    date_range,
)
from customers.selectors import vendor_get


class Command(BaseCommand):
    help = "Print a vendor's daily pull rollups (per customer, repository, tag and digest)."

    def add_arguments(self, parser):
        parser.add_argument("vendor", help="vendor slug")
        parser.add_argument("--days", type=int, default=30, help="last N days (default 30)")
        parser.add_argument("--format", choices=["csv", "json"], default="csv")

    def handle(self, *args, vendor, days, format, **options):
        found = vendor_get(slug=vendor)
        if found is None:
            raise CommandError(f"no vendor {vendor!r}")
        if not 1 <= days <= MAX_RANGE_DAYS:
            raise CommandError(f"--days must be between 1 and {MAX_RANGE_DAYS}")
        rows = daily_rollups(vendor=found, period=date_range(days=days))
        if format == "json":
            self.stdout.write(rows_to_json(rows))
        else:
            self.stdout.write(rows_to_csv(rows, COLUMNS), ending="")
