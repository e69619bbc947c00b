from django.core.management.base import CommandError

from customers.management.base import AuditedCommand
from customers.selectors import customer_get, vendor_get
from customers.services import customer_set_suspended


class Command(AuditedCommand):
    help = (
        "Suspend a customer (its tokens pull nothing and its users cannot sign in, from the "
        "next request in every process), or resume it with --resume."
    )

    def add_arguments(self, parser):
        parser.add_argument("vendor")
        parser.add_argument("customer")
        parser.add_argument("--resume", action="store_true", help="resume the customer")

    def handle(self, *args, vendor, customer, resume, **options):
        vendor_row = vendor_get(slug=vendor)
        row = customer_get(vendor=vendor_row, slug=customer) if vendor_row else None
        if row is None:
            raise CommandError(f"no customer {customer!r} of vendor {vendor!r}")
        customer_set_suspended(customer=row, suspended=not resume, actor="command:suspendcustomer")
        self.stdout.write(f"{'resumed' if resume else 'suspended'} customer {vendor}/{customer}")
