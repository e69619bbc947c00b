import datetime

from django.core.management.base import CommandError
from django.utils import timezone

from customers.management.base import AuditedCommand
from customers.models import AccessToken
from customers.scopes import SCOPES
from customers.selectors import vendor_get
from customers.services import TokenError, token_mint


class Command(AuditedCommand):
    help = (
        "Mint a vendor API token for the JSON API; prints the secret (shown only once). "
        "Scopes: read (default), write, or per area (see docs/authentication.md)."
    )

    def add_arguments(self, parser):
        parser.add_argument("vendor", help="vendor slug")
        parser.add_argument("name", help="what the token is for")
        parser.add_argument(
            "--scope",
            action="append",
            choices=SCOPES,
            dest="scopes",
            help="a scope the token holds; repeat for several (default: read)",
        )
        parser.add_argument(
            "--expires", type=int, metavar="DAYS", help="expire after DAYS days (default: never)"
        )

    def handle(self, *args, vendor, name, scopes, expires, **options):
        found = vendor_get(slug=vendor)
        if found is None:
            raise CommandError(f"no vendor {vendor!r}")
        if expires is not None and expires < 1:
            raise CommandError("--expires needs a number of days, 1 or more")
        try:
            minted = token_mint(
                vendor=found,
                kind=AccessToken.Kind.API,
                name=name,
                scopes=scopes or ["read"],
                expires_at=timezone.now() + datetime.timedelta(days=expires) if expires else None,
            )
        except TokenError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(minted.secret)
