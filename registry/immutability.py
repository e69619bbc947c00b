"""Immutable tags: which rule, if any, forbids moving or deleting a tag, and the audited
refusal. Read from the database on every decision (one small indexed query, only when a
tag would move or go), so a rule added in any process refuses from the next request."""

import time

from django.core.cache import cache

from core.globs import globs_match
from core.tag_rules import rule_matches, rule_parse
from customers.models import AuditEvent
from customers.services import audit_record
from registry.errors import TagImmutable
from registry.models import ImmutableTagRule, Repository

REFUSAL_AUDIT_WINDOW_SECONDS = 60  # one audit row per repository, tag and minute


def rule_covers(rule: ImmutableTagRule, *, repository_path: str, tag: str) -> bool:
    kind, pattern = rule_parse(rule.tag_rule)
    return globs_match([rule.repository_pattern], repository_path) and rule_matches(
        kind, pattern, tag
    )


def immutable_rule_for(*, repository: Repository, tag: str) -> ImmutableTagRule | None:
    """The first (oldest) rule that makes `tag` of `repository` immutable."""
    path = repository.name.partition("/")[2]
    for rule in ImmutableTagRule.objects.filter(vendor_id=repository.vendor_id):
        if rule_covers(rule, repository_path=path, tag=tag):
            return rule
    return None


def immutable_refuse_if_covered(*, repository: Repository, tag: str, doing: str) -> None:
    """Raise TagImmutable naming the rule when one covers the tag. `doing`: "be moved" or
    "be deleted", for the message."""
    rule = immutable_rule_for(repository=repository, tag=tag)
    if rule is None:
        return
    raise TagImmutable(
        f"tag {tag} of {repository.name} is immutable and cannot {doing} (rule {rule.id}: "
        f"repositories {rule.repository_pattern!r}, tags {rule.tag_rule!r})",
        rule_id=rule.id,
        repository_name=repository.name,
        tag=tag,
    )


def immutable_refusal_record(*, repository: Repository, error: TagImmutable, actor: str) -> None:
    """Audit a refusal, at most once per repository, tag and minute in every process (the
    shared cache), so a CI loop retrying a push cannot flood the log. Called after the
    refused change rolled back, so the row is not lost with it."""
    minute = int(time.time()) // REFUSAL_AUDIT_WINDOW_SECONDS
    key = f"registry:immutable-refused:{repository.id}:{error.tag}:{minute}"
    if not cache.add(key, 1, REFUSAL_AUDIT_WINDOW_SECONDS * 2):
        return
    audit_record(
        vendor=repository.vendor,
        action=AuditEvent.Action.IMMUTABLE_REFUSED,
        actor=actor,
        target=f"{repository.name}:{error.tag}",
        details={
            "repository": repository.name,
            "tag": error.tag,
            "rule": error.rule_id,
            "message": error.message,
            "window_seconds": REFUSAL_AUDIT_WINDOW_SECONDS,
        },
    )


def immutable_rule_list(*, vendor_id: int):
    return ImmutableTagRule.objects.filter(vendor_id=vendor_id).order_by("id")


def immutable_rule_get(*, vendor_id: int, rule_id: int) -> ImmutableTagRule | None:
    return ImmutableTagRule.objects.filter(vendor_id=vendor_id, pk=rule_id).first()
