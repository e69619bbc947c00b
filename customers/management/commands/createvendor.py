from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from customers.management.base import AuditedCommand
from customers.services import vendor_create


class Command(AuditedCommand):
    help = "Create a vendor (idempotent). SLUG is its registry namespace."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", default="")

    def handle(self, *args, slug: str, name: str, **options):
        try:
            vendor, created = vendor_create(slug=slug, name=name)
        except ValidationError as exc:
            raise CommandError(f"invalid vendor: {'; '.join(exc.messages)}") from None
        self.stdout.write(f"{'created' if created else 'exists'}: vendor {vendor.slug}")
