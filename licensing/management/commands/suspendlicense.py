from django.core.management.base import BaseCommand, CommandError

from licensing.models import License
from licensing.services import license_suspend


class Command(BaseCommand):
    help = "Suspend a licence: its customer's pulls under it stop at once."

    def add_arguments(self, parser):
        parser.add_argument("license_id", type=int)

    def handle(self, *args, license_id, **options):
        license = License.objects.filter(pk=license_id).first()
        if license is None:
            raise CommandError(f"no licence {license_id}")
        license_suspend(license=license)
        self.stdout.write(f"suspended licence {license_id} ({license.name})")
