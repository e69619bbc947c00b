"""`manage.py verifydomains [HOST ...]`: check pending portal domains' DNS TXT records now
(what the Celery beat sweep and the console's "Verify now" button do)."""

from django.core.management.base import BaseCommand  # noqa: F401 - CommandError users

from customers.management.base import AuditedCommand
from portal.selectors import domain_list_pending
from portal.services import PortalError, domain_verify


class Command(AuditedCommand):
    help = "Verify pending portal domains (TXT _distr-challenge.<host> holding the token)."

    def add_arguments(self, parser):
        parser.add_argument("hosts", nargs="*", help="only these hosts (default: all pending)")

    def handle(self, *args, hosts, **options):
        failed = 0
        for domain in domain_list_pending(hosts=[h.lower().rstrip(".") for h in hosts]):
            try:
                domain_verify(domain=domain)
            except PortalError as error:
                failed += 1
                self.stdout.write(f"{domain.host} ({domain.vendor.slug}): pending: {error}")
            else:
                self.stdout.write(f"{domain.host} ({domain.vendor.slug}): verified")
        if failed and hosts:
            raise SystemExit(1)
