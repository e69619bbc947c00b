from django.core.management.base import BaseCommand
from django.db import transaction

from customers.models import AccessToken
from customers.services import token_mint, token_revoke, vendor_create

DEMO_TOKEN_NAME = "demo CI (make run)"  # noqa: S105 - a label, not a secret


class Command(BaseCommand):
    help = (
        "Seed the demo vendor 'acme' and print a fresh push token for it. The previous demo "
        "token is revoked, so exactly one works at a time (secrets are never stored)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--vendor", default="acme")

    @transaction.atomic
    def handle(self, *args, vendor: str, **options):
        vendor_row, _ = vendor_create(slug=vendor, name="Acme (demo)")
        for token in AccessToken.objects.filter(
            vendor=vendor_row, name=DEMO_TOKEN_NAME, revoked_at__isnull=True
        ):
            token_revoke(token=token)
        minted = token_mint(vendor=vendor_row, kind="push", name=DEMO_TOKEN_NAME)
        self.stdout.write(minted.secret)
