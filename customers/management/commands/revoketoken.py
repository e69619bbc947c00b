from django.core.management.base import CommandError

from customers.management.base import AuditedCommand
from customers.selectors import token_get_by_prefix
from customers.services import token_revoke
from customers.tokens import secret_matches, secret_prefix


class Command(AuditedCommand):
    help = "Revoke a token, named by its visible prefix or by its whole secret."

    def add_arguments(self, parser):
        parser.add_argument("prefix_or_secret")

    def handle(self, *args, prefix_or_secret: str, **options):
        value = prefix_or_secret.strip()
        prefix = secret_prefix(value) or value
        token = token_get_by_prefix(prefix=prefix)
        if (
            token is not None
            and secret_prefix(value)
            and not secret_matches(value, token.secret_hash)
        ):
            token = None  # a whole secret must match, not just its prefix
        if token is None:
            raise CommandError("no token with that prefix or secret")
        if token_revoke(token=token):
            self.stdout.write(f"revoked {token.prefix}")
        else:
            self.stdout.write(f"{token.prefix} was already revoked")
