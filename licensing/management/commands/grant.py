from django.core.management.base import BaseCommand, CommandError

from licensing.models import License
from licensing.services import LicenseError, grant_add


class Command(BaseCommand):
    help = "Grant a licence a repository and tag rule: exact:1.2.0, glob:1.*, semver:>=1.0,<2"

    def add_arguments(self, parser):
        parser.add_argument("license_id", type=int)
        parser.add_argument("repository")
        parser.add_argument("tag_rule")
        parser.add_argument("--no-referrers", action="store_true")

    def handle(self, *args, license_id, repository, tag_rule, no_referrers, **options):
        license = License.objects.filter(pk=license_id).first()
        if license is None:
            raise CommandError(f"no licence {license_id}")
        try:
            grant = grant_add(
                license=license,
                repository_name=repository,
                tag_rule=tag_rule,
                include_referrers=not no_referrers,
            )
        except LicenseError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"granted {grant.rule}:{grant.pattern} on {repository}")
