"""manage.py retention [--dry-run]: apply every vendor's retention rules once (docs/gc.md).
A dry run lists what each rule would delete, with what licenses protect listed apart."""

from customers.management.base import AuditedCommand
from lifecycle.models import RetentionRule
from lifecycle.selectors import retention_plan
from lifecycle.services import retention_apply


class Command(AuditedCommand):
    help = "Apply retention rules (then run `manage.py gc` to free the bytes)."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="list, delete nothing")

    def handle(self, *args, dry_run, **options):
        for rule in RetentionRule.objects.select_related("vendor"):
            plan = retention_plan(rule=rule) if dry_run else retention_apply(rule=rule)
            self.stdout.write(f"{rule.vendor.slug}: rule {rule.id} ({rule})")
            for name, ref, why in plan.tags + plan.manifests:
                self.stdout.write(
                    f"  {'would delete' if dry_run else 'deleted'} {name} {ref} ({why})"
                )
            verb = "deleted" if rule.include_entitled else "kept"
            for name, ref, why in plan.entitled_tags + plan.entitled_manifests:
                self.stdout.write(f"  entitled, {verb}: {name} {ref} ({why})")
