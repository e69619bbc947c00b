"""Retention rules: create, change, delete (audited), and apply (docs/gc.md)."""

import logging
import re

from django.core.exceptions import ValidationError
from django.db import transaction

from customers.models import AuditEvent, Vendor
from customers.services import audit_record
from lifecycle.models import RetentionRule
from lifecycle.selectors import RetentionPlan, retention_plan, rule_repositories
from registry.errors import RegistryError
from registry.services.manifests import manifest_delete

log = logging.getLogger(__name__)

_FIELDS = (
    "repository_pattern",
    "tag_pattern",
    "keep_newest",
    "untagged_days",
    "unpulled_days",
    "include_entitled",
)
_PATTERN = re.compile(r"^[a-z0-9*?][a-z0-9._/*?-]*$")  # names and globs (core/globs.py)
_TAG_PATTERN = re.compile(r"^[\w*?][\w.*?-]{0,127}$")


def _validate(rule: RetentionRule) -> None:
    errors = {}
    if not _PATTERN.match(rule.repository_pattern or ""):
        errors["repository_pattern"] = "a repository name or glob under your namespace"
    if not _TAG_PATTERN.match(rule.tag_pattern or ""):
        errors["tag_pattern"] = "a tag or a glob of tags (* and ?)"
    if rule.keep_newest is None and rule.untagged_days is None and rule.unpulled_days is None:
        errors["keep_newest"] = "set at least one of: keep newest, untagged days, unpulled days"
    if rule.unpulled_days == 0:
        errors["unpulled_days"] = "at least 1 day"
    if errors:
        raise ValidationError(errors)


def _details(rule: RetentionRule) -> dict:
    return {"rule": rule.id, **{f: getattr(rule, f) for f in _FIELDS}}


def retention_rule_create(*, vendor: Vendor, actor: str = "", **fields) -> RetentionRule:
    rule = RetentionRule(vendor=vendor, **fields)
    _validate(rule)
    with transaction.atomic():
        rule.save()
        _audit(rule, AuditEvent.Action.RETENTION_RULE_CREATED, actor, _details(rule))
    return rule


def retention_rule_update(*, rule: RetentionRule, actor: str = "", **fields) -> RetentionRule:
    before = _details(rule)
    for name, value in fields.items():
        if name not in _FIELDS:
            raise ValidationError({name: "not a retention rule field"})
        setattr(rule, name, value)
    _validate(rule)
    with transaction.atomic():
        rule.save()
        _audit(
            rule,
            AuditEvent.Action.RETENTION_RULE_UPDATED,
            actor,
            {"before": before, "after": _details(rule)},
        )
    return rule


def retention_rule_delete(*, rule: RetentionRule, actor: str = "") -> None:
    details = _details(rule)
    with transaction.atomic():
        _audit(rule, AuditEvent.Action.RETENTION_RULE_DELETED, actor, details)
        rule.delete()


def retention_apply(*, rule: RetentionRule, actor: str = "") -> RetentionPlan:
    """Delete what the rule's plan names (the entitled part only with `include_entitled`).
    Each tag or manifest goes through the registry's delete service (its own transaction
    and audit row, the same checks as a DELETE request); one RETENTION_APPLIED row sums up.
    Returns the plan, with what could not be deleted (in use, refused) left out."""
    plan = retention_plan(rule=rule)
    repositories = {r.name: r for r in rule_repositories(rule=rule)}
    tags = plan.tags + (plan.entitled_tags if rule.include_entitled else [])
    manifests = plan.manifests + (plan.entitled_manifests if rule.include_entitled else [])
    deleted_tags, deleted_manifests, refused = [], [], []
    for kind, entries, done in (
        ("tag", tags, deleted_tags),
        ("manifest", manifests, deleted_manifests),
    ):
        for name, reference, _why in entries:
            try:
                manifest_delete(repository=repositories[name], reference=reference, actor=actor)
            except RegistryError as error:  # in use by an index, immutable, already gone
                refused.append(f"{name}:{reference}: {error}")
                continue
            done.append(f"{name}{':' if kind == 'tag' else '@'}{reference}")
    _audit(
        rule,
        AuditEvent.Action.RETENTION_APPLIED,
        actor,
        {
            "rule": rule.id,
            "tags_deleted": deleted_tags[:200],
            "manifests_deleted": deleted_manifests[:200],
            "entitled_kept": 0
            if rule.include_entitled
            else len(plan.entitled_tags) + len(plan.entitled_manifests),
            "refused": refused[:50],
        },
    )
    return plan


def retention_apply_all(*, actor: str = "") -> int:
    """Apply every vendor's rules (the lifecycle task); returns how many rules ran."""
    rules = list(RetentionRule.objects.select_related("vendor"))
    for rule in rules:
        try:
            retention_apply(rule=rule, actor=actor)
        except Exception:  # one vendor's broken rule must not stop the others' (or GC)
            log.exception("retention rule %s failed", rule.id)
    return len(rules)


def _audit(rule: RetentionRule, action: str, actor: str, details: dict) -> None:
    audit_record(
        vendor=rule.vendor,
        action=action,
        actor=actor,
        target=f"retention:{rule.repository_pattern}:{rule.tag_pattern}",
        details=details,
    )
