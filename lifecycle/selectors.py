"""What retention rules would delete: the plan a dry run shows and a run carries out."""

import datetime
import re
from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef
from django.utils import timezone

from analytics.selectors import tags_last_pulled
from core.globs import glob_to_regex
from core.versions import tags_newest_first
from customers.models import Vendor
from licensing.selectors import repository_entitled
from lifecycle.models import RetentionRule
from registry.models import Manifest, ManifestReference, Repository, Tag


@dataclass
class RetentionPlan:
    """Each entry is (repository name, tag or digest, why). `entitled_*` would go but an
    active license entitles a customer to them: they go only when the rule says so
    (`include_entitled`), and a dry run lists them apart either way."""

    rule: RetentionRule
    tags: list[tuple[str, str, str]] = field(default_factory=list)
    manifests: list[tuple[str, str, str]] = field(default_factory=list)
    entitled_tags: list[tuple[str, str, str]] = field(default_factory=list)
    entitled_manifests: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def deletes_entitled(self) -> bool:
        return self.rule.include_entitled


def retention_rules_list(*, vendor: Vendor) -> list[RetentionRule]:
    return list(RetentionRule.objects.filter(vendor=vendor))


def retention_rule_get(*, vendor: Vendor, rule_id: int) -> RetentionRule | None:
    return RetentionRule.objects.filter(vendor=vendor, pk=rule_id).first()


def rule_repositories(*, rule: RetentionRule) -> list[Repository]:
    pattern = re.compile(glob_to_regex(rule.repository_pattern))
    prefix = f"{rule.vendor.slug}/"
    return [
        r
        for r in Repository.objects.filter(vendor=rule.vendor, name__startswith=prefix)
        if pattern.fullmatch(r.name[len(prefix) :])
    ]


def retention_plan(*, rule: RetentionRule, now: datetime.datetime | None = None) -> RetentionPlan:
    now = now or timezone.now()
    plan = RetentionPlan(rule=rule)
    tag_pattern = re.compile(glob_to_regex(rule.tag_pattern))
    for repository in rule_repositories(rule=rule):
        entitled = repository_entitled(repository=repository)
        tags = dict(Tag.objects.filter(repository=repository).values_list("name", "updated_at"))
        matching = {t: when for t, when in tags.items() if tag_pattern.fullmatch(t)}
        going: dict[str, str] = {}
        if rule.keep_newest is not None:
            for tag in tags_newest_first(matching)[rule.keep_newest :]:
                going[tag] = f"beyond the newest {rule.keep_newest}"
        if rule.unpulled_days is not None:
            since = (now - datetime.timedelta(days=rule.unpulled_days)).date()
            pulled = tags_last_pulled(vendor=rule.vendor, repository=repository.name)
            for tag, pushed in matching.items():
                last = pulled.get(tag)
                if (last is None and pushed.date() < since) or (last is not None and last < since):
                    going.setdefault(tag, f"not pulled for {rule.unpulled_days} days")
        for tag in sorted(going):
            entry = (repository.name, tag, going[tag])
            (plan.entitled_tags if tag in entitled.tags else plan.tags).append(entry)
        if rule.untagged_days is not None:
            for digest in _untagged_before(
                repository, now - datetime.timedelta(days=rule.untagged_days)
            ):
                entry = (repository.name, digest, f"untagged for over {rule.untagged_days} days")
                (
                    plan.entitled_manifests if digest in entitled.manifests else plan.manifests
                ).append(entry)
    return plan


def _untagged_before(repository: Repository, cutoff: datetime.datetime) -> list[str]:
    """Untagged top-level manifests pushed before `cutoff`: not an index's child, not a
    referrer of a stored subject (those go with what holds them)."""
    return list(
        Manifest.objects.filter(repository=repository, created_at__lt=cutoff)
        .exclude(Exists(Tag.objects.filter(manifest=OuterRef("pk"))))
        .exclude(Exists(ManifestReference.objects.filter(child=OuterRef("pk"))))
        .exclude(
            Exists(
                Manifest.objects.filter(
                    repository=OuterRef("repository"), digest=OuterRef("subject_digest")
                )
            )
        )
        .order_by("digest")
        .values_list("digest", flat=True)
    )
