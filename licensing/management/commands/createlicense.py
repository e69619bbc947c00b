import datetime

from django.core.management.base import CommandError

from customers.management.base import AuditedCommand
from customers.selectors import customer_get, vendor_get
from licensing.services import LicenseError, license_create


class Command(AuditedCommand):
    help = "Create a license for a customer; prints the license id."

    def add_arguments(self, parser):
        parser.add_argument("vendor")
        parser.add_argument("customer")
        parser.add_argument("name")
        parser.add_argument("--until", help="last valid day, YYYY-MM-DD (default: perpetual)")
        parser.add_argument("--from", dest="valid_from", help="first valid day (default: today)")

    def handle(self, *args, vendor, customer, name, until, valid_from, **options):
        vendor_row = vendor_get(slug=vendor)
        if vendor_row is None:
            raise CommandError(f"no vendor {vendor!r}")
        customer_row = customer_get(vendor=vendor_row, slug=customer)
        if customer_row is None:
            raise CommandError(f"no customer {customer!r} of {vendor}")
        try:
            license = license_create(
                vendor=vendor_row,
                customer=customer_row,
                name=name,
                valid_from=_date(valid_from),
                valid_until=_date(until),
                actor="command:createlicense",
            )
        except LicenseError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(str(license.id))


def _date(value: str | None) -> datetime.date | None:
    if value is None:
        return None
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"invalid date {value!r}: use YYYY-MM-DD") from None
