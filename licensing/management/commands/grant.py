from django.core.management.base import CommandError

from customers.management.base import AuditedCommand
from licensing.models import License
from licensing.rules import RuleInvalid, rule_parse
from licensing.selectors import license_get
from licensing.services import LicenseError, grant_add, grant_remove


class Command(AuditedCommand):
    help = (
        "Grant a license a repository and a tag rule. REPOSITORY is a full name in the "
        "vendor's namespace, pushed already or not yet (acme/app), or a pattern: * and ? "
        "match within one path component (acme/charts/*), a trailing /** any depth below "
        "(acme/charts/**); patterns cover repositories pushed later too. Tag rules: "
        "exact:1.2.0, glob:1.*, semver:>=1.0,<2. --remove takes that grant away again."
    )

    def add_arguments(self, parser):
        parser.add_argument("license_id", type=int)
        parser.add_argument(
            "repository", help="acme/app, acme/charts/* or acme/charts/** (quote patterns)"
        )
        parser.add_argument("tag_rule")
        parser.add_argument("--no-referrers", action="store_true")
        parser.add_argument("--remove", action="store_true", help="remove this grant")

    def handle(self, *args, license_id, repository, tag_rule, no_referrers, remove, **options):
        license = license_get(license_id=license_id)
        if license is None:
            raise CommandError(f"no license {license_id}")
        if remove:
            self._remove(license, repository, tag_rule)
            return
        try:
            grant = grant_add(
                license=license,
                repository_name=repository,
                tag_rule=tag_rule,
                include_referrers=not no_referrers,
                actor="command:grant",
            )
        except LicenseError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"granted {grant.rule}:{grant.pattern} on {repository}")

    def _remove(self, license: License, repository: str, tag_rule: str) -> None:
        try:
            kind, pattern = rule_parse(tag_rule)
        except RuleInvalid as exc:
            raise CommandError(str(exc)) from None
        grants = list(license.grants.filter(repository_name=repository, rule=kind, pattern=pattern))
        if not grants:
            raise CommandError(f"license {license.pk} has no grant {tag_rule} on {repository}")
        for grant in grants:
            grant_remove(grant=grant, actor="command:grant")
        self.stdout.write(f"removed {kind}:{pattern} on {repository}")
