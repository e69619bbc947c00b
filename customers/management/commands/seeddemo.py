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
        parser.add_argument(
            "--admin-email",
            default="admin@acme.example",
            help="portal admin of the demo vendor; gets a new random password on every run "
            "(printed on stderr)",
        )

    @transaction.atomic
    def handle(self, *args, vendor: str, admin_email: str, **options):
        vendor_row, _ = vendor_create(slug=vendor, name="Acme (demo)")
        for token in AccessToken.objects.filter(
            vendor=vendor_row, name=DEMO_TOKEN_NAME, revoked_at__isnull=True
        ):
            token_revoke(token=token)
        minted = token_mint(vendor=vendor_row, kind="push", name=DEMO_TOKEN_NAME)
        password = _portal_admin(vendor_row, admin_email)
        self.stderr.write(f"portal: /p/{vendor_row.slug}/  sign in as {admin_email} / {password}")
        self.stdout.write(minted.secret)


def _portal_admin(vendor, email: str) -> str:
    """An admin of the demo vendor's portal with a fresh random password."""
    import secrets

    from allauth.account.models import EmailAddress
    from django.contrib.auth import get_user_model

    from customers.models import VendorMember

    user = get_user_model().objects.filter(email__iexact=email).first()
    if user is None:
        user = get_user_model().objects.create_user(username=email, email=email)
    password = secrets.token_urlsafe(12)
    user.set_password(password)
    user.save()
    EmailAddress.objects.update_or_create(
        user=user, email=email, defaults={"verified": True, "primary": True}
    )
    VendorMember.objects.get_or_create(vendor=vendor, user=user, defaults={"role": "admin"})
    return password
