import datetime

from django.core.management.base import CommandError
from django.utils import timezone

from customers.management.base import AuditedCommand
from customers.selectors import customer_get, vendor_get
from customers.services import TokenError, token_mint


class Command(AuditedCommand):
    help = (
        "Mint a registry token and print only its secret on stdout (it is shown once). "
        "Push tokens belong to the vendor (CI); pull tokens to a customer."
    )

    def add_arguments(self, parser):
        parser.add_argument("--vendor", required=True)
        parser.add_argument("--customer", help="required for --kind pull")
        parser.add_argument("--kind", required=True, choices=["push", "pull"])
        parser.add_argument("--name", required=True)
        parser.add_argument("--expires", type=int, metavar="DAYS", help="default: never")
        parser.add_argument(
            "--repository",
            action="append",
            default=[],
            help="push tokens: limit to these repositories (globs under the vendor, repeatable)",
        )
        parser.add_argument(
            "--action",
            action="append",
            choices=["pull", "push", "delete"],
            default=[],
            help="push tokens: limit to these actions (repeatable; default all)",
        )

    def handle(self, *args, **options):
        vendor = vendor_get(slug=options["vendor"])
        if vendor is None:
            raise CommandError(f"no vendor {options['vendor']!r}")
        customer = None
        if options["customer"]:
            customer = customer_get(vendor=vendor, slug=options["customer"])
            if customer is None:
                raise CommandError(f"no customer {options['customer']!r} of {vendor.slug}")
        expires = options["expires"]
        if expires is not None and expires <= 0:
            raise CommandError("--expires takes a positive number of days")
        try:
            minted = token_mint(
                vendor=vendor,
                customer=customer,
                kind=options["kind"],
                name=options["name"],
                expires_at=timezone.now() + datetime.timedelta(days=expires) if expires else None,
                repository_patterns=options["repository"],
                actions=options["action"],
            )
        except TokenError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(minted.secret)
