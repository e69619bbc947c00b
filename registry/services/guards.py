"""Immutable-tag rules and storage quotas: create, change, delete, each audited in the
same transaction. A vendor's rules are read per request (registry/immutability.py), so a
change counts in every process from the next request."""

import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.globs import glob_to_regex
from core.tag_rules import RuleInvalid, rule_parse
from customers.models import AuditEvent, Vendor
from customers.services import audit_record
from registry.models import ImmutableTagRule, StorageQuota, StorageSnapshot
from registry.names import NAME_MAX_LENGTH
from registry.usage import vendor_storage

_PATTERN_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789._-/*?")


def _pattern_clean(pattern: str) -> str:
    pattern = pattern.strip().strip("/")
    if not pattern or len(pattern) > NAME_MAX_LENGTH or not set(pattern) <= _PATTERN_CHARS:
        raise RuleInvalid(
            "repositories are a path inside your namespace with * (one component), ** (any "
            "depth) or ? wildcards: app, charts/*, **"
        )
    glob_to_regex(pattern)  # always translates; kept as the one definition of the glob
    return pattern


def _tag_rule_clean(tag_rule: str) -> str:
    kind, pattern = rule_parse(tag_rule.strip())
    return f"{kind}:{pattern}"


def _rule_details(rule: ImmutableTagRule) -> dict:
    return {
        "rule": rule.id,
        "repository_pattern": rule.repository_pattern,
        "tag_rule": rule.tag_rule,
    }


@transaction.atomic
def immutable_rule_create(
    *, vendor: Vendor, repository_pattern: str, tag_rule: str, actor: str = ""
) -> ImmutableTagRule:
    """Raises RuleInvalid for a bad pattern or tag rule, or one the vendor already has."""
    fields = {
        "repository_pattern": _pattern_clean(repository_pattern),
        "tag_rule": _tag_rule_clean(tag_rule),
    }
    try:
        with transaction.atomic():
            rule = ImmutableTagRule.objects.create(vendor=vendor, **fields)
    except IntegrityError:
        raise RuleInvalid("that rule exists already") from None
    audit_record(
        vendor=vendor,
        action=AuditEvent.Action.IMMUTABLE_RULE_CREATED,
        actor=actor,
        target=f"rule:{rule.id}",
        details=_rule_details(rule),
    )
    return rule


@transaction.atomic
def immutable_rule_update(
    *, rule: ImmutableTagRule, repository_pattern: str, tag_rule: str, actor: str = ""
) -> ImmutableTagRule:
    before = _rule_details(rule)
    rule.repository_pattern = _pattern_clean(repository_pattern)
    rule.tag_rule = _tag_rule_clean(tag_rule)
    try:
        with transaction.atomic():
            rule.save(update_fields=["repository_pattern", "tag_rule", "updated_at"])
    except IntegrityError:
        raise RuleInvalid("that rule exists already") from None
    audit_record(
        vendor=rule.vendor,
        action=AuditEvent.Action.IMMUTABLE_RULE_UPDATED,
        actor=actor,
        target=f"rule:{rule.id}",
        details={**_rule_details(rule), "before": before},
    )
    return rule


@transaction.atomic
def immutable_rule_delete(*, rule: ImmutableTagRule, actor: str = "") -> None:
    details = _rule_details(rule)
    vendor = rule.vendor
    rule.delete()
    audit_record(
        vendor=vendor,
        action=AuditEvent.Action.IMMUTABLE_RULE_DELETED,
        actor=actor,
        target=f"rule:{details['rule']}",
        details=details,
    )


@transaction.atomic
def quota_set(*, vendor: Vendor, limit_bytes: int | None, actor: str = "") -> None:
    """Set the vendor's storage quota in bytes; None removes it (no limit)."""
    if limit_bytes is not None and limit_bytes < 0:
        raise ValueError("a quota is zero or more bytes")
    before = (
        StorageQuota.objects.filter(vendor=vendor).values_list("limit_bytes", flat=True).first()
    )
    if limit_bytes is None:
        StorageQuota.objects.filter(vendor=vendor).delete()
    else:
        StorageQuota.objects.update_or_create(vendor=vendor, defaults={"limit_bytes": limit_bytes})
    audit_record(
        vendor=vendor,
        action=AuditEvent.Action.QUOTA_UPDATED,
        actor=actor,
        target=vendor.slug,
        details={"limit_bytes": limit_bytes, "before": before},
    )


def storage_snapshots_take(*, day: datetime.date | None = None) -> int:
    """Record every vendor's storage for `day` (today, UTC): one row per vendor and day,
    upserted, so the hourly beat run keeps today's row current and a rerun never adds
    one. Derived figures, not a change anyone made: not audited. Returns vendors done."""
    day = day or timezone.now().date()
    vendors = list(Vendor.objects.values_list("id", flat=True))
    for vendor_id in vendors:
        used = vendor_storage(vendor_id=vendor_id)
        StorageSnapshot.objects.update_or_create(
            vendor_id=vendor_id,
            day=day,
            defaults={"bytes_stored": used["bytes"], "blob_count": used["blobs"]},
        )
    return len(vendors)
