from django.core.management.base import BaseCommand  # noqa: F401 - CommandError users
from django.db import transaction

from customers.management.base import AuditedCommand
from customers.models import AccessToken
from customers.services import token_mint, token_revoke, vendor_create
from portal.services import staff_admin_ensure

ACTOR = "command:seeddemo"
DEMO_TOKEN_NAME = "demo CI (make run)"  # noqa: S105 - a label, not a secret


class Command(AuditedCommand):
    help = (
        "Seed the demo vendor 'acme' and print a fresh push token for it. The previous demo "
        "token is revoked, so exactly one works at a time (secrets are never stored)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--vendor", default="acme")
        parser.add_argument(
            "--admin-email",
            default="admin@acme.example",
            help="portal admin of the demo vendor; gets a new random password on every run "
            "(printed on stderr)",
        )

    @transaction.atomic
    def handle(self, *args, vendor: str, admin_email: str, **options):
        vendor_row, _ = vendor_create(slug=vendor, name="Acme (demo)", actor=ACTOR)
        for token in AccessToken.objects.filter(
            vendor=vendor_row, name=DEMO_TOKEN_NAME, revoked_at__isnull=True
        ):
            token_revoke(token=token)
        minted = token_mint(vendor=vendor_row, kind="push", name=DEMO_TOKEN_NAME)
        password = staff_admin_ensure(vendor=vendor_row, email=admin_email, actor=ACTOR)
        self.stderr.write(f"portal: /p/{vendor_row.slug}/  sign in as {admin_email} / {password}")
        self.stdout.write(minted.secret)
