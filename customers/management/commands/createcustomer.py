from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from customers.management.base import AuditedCommand
from customers.selectors import vendor_get
from customers.services import customer_create


class Command(AuditedCommand):
    help = "Create a customer of VENDOR (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("vendor")
        parser.add_argument("slug")
        parser.add_argument("--name", default="")

    def handle(self, *args, vendor: str, slug: str, name: str, **options):
        vendor_row = vendor_get(slug=vendor)
        if vendor_row is None:
            raise CommandError(f"no vendor {vendor!r} (create it with createvendor)")
        try:
            customer, created = customer_create(vendor=vendor_row, slug=slug, name=name)
        except ValidationError as exc:
            raise CommandError(f"invalid customer: {'; '.join(exc.messages)}") from None
        state = "created" if created else "exists"
        self.stdout.write(f"{state}: customer {customer.slug} of {vendor_row.slug}")
