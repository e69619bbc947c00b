from django.core.management.base import CommandError

from analytics.services import api_token_mint
from customers.management.base import AuditedCommand
from customers.selectors import vendor_get


class Command(AuditedCommand):
    help = "Mint a vendor API token for the JSON API; prints the secret (shown only once)."

    def add_arguments(self, parser):
        parser.add_argument("vendor", help="vendor slug")
        parser.add_argument("name", help="what the token is for")

    def handle(self, *args, vendor, name, **options):
        found = vendor_get(slug=vendor)
        if found is None:
            raise CommandError(f"no vendor {vendor!r}")
        self.stdout.write(api_token_mint(vendor=found, name=name).secret)
