from django.core.management.base import CommandError

from customers.management.base import AuditedCommand
from licensing.models import License
from licensing.selectors import license_get
from licensing.services import license_set_status


class Command(AuditedCommand):
    help = (
        "Suspend a license (its customer's pulls under it stop from the next request, in "
        "every process), or reactivate it with --resume."
    )

    def add_arguments(self, parser):
        parser.add_argument("license_id", type=int)
        parser.add_argument("--resume", action="store_true", help="reactivate the license")

    def handle(self, *args, license_id, resume, **options):
        license = license_get(license_id=license_id)
        if license is None:
            raise CommandError(f"no license {license_id}")
        status = License.Status.ACTIVE if resume else License.Status.SUSPENDED
        license_set_status(license=license, status=status, actor="command:suspendlicense")
        verb = "reactivated" if resume else "suspended"
        self.stdout.write(f"{verb} license {license_id} ({license.name})")
