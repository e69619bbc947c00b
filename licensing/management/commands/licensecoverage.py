from django.core.management.base import BaseCommand, CommandError

from licensing.selectors import license_coverage, license_get


class Command(BaseCommand):
    help = "Show what a license covers right now: repository, then its covered tags."

    def add_arguments(self, parser):
        parser.add_argument("license_id", type=int)

    def handle(self, *args, license_id, **options):
        license = license_get(license_id=license_id)
        if license is None:
            raise CommandError(f"no license {license_id}")
        until = license.valid_until.isoformat() if license.valid_until else "perpetual"
        self.stdout.write(f"{license.name} ({license.status}, until {until})")
        for repository, tags in license_coverage(license=license).items():
            self.stdout.write(f"{repository}: {' '.join(tags) if tags else '(nothing)'}")
