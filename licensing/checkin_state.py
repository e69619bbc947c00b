"""What one online check-in reads, in one query (licensing/checkins.py's hot path).

A check-in needs the key's issue record, its license with vendor and plan, the
vendor's verification key named by the token's `kid` (not retired), its current signing
key (the lease is signed with it), the reporting instance and the seats in use. Through
the ORM that was six queries and about 4 ms of CPU, nearly all of it building SQL; here
it is one statement, read afresh on every check-in, so a suspension, a retired key or a
new sequence counts from the next check-in in every process.

Nothing here decides: `CheckInState` is what the database says now. When the query finds
nothing (a key distr did not issue, a deleted license, a retired key, another vendor's
key), the caller takes the general path, which tells which of those it is. On PostgreSQL the
statement is prepared once per connection: planning its six-table join cost ten times
executing it (2.4 ms against 0.36 ms).

Signature verification is memoised by the token's SHA-256 and the kid: a kid is the RFC
7638 thumbprint of its public key, so the answer for one token and kid never changes;
whether the kid is still trusted comes from the query above every time.
"""
# ruff: noqa: S608 - every name the query interpolates is one of our own tables or columns

import datetime
import json
from dataclasses import dataclass

from django.db import connection
from django.db.models import signals
from django.db.models.base import ModelState
from django.utils.dateparse import parse_datetime

from core.db import prepared_cursor
from core.memo import LruMemo
from customers.models import Vendor
from licensing.models import Instance, License, LicenseKey, Plan
from signing.models import SigningKey

_verified_claims: LruMemo[dict] = LruMemo(capacity=4096)
_kids: LruMemo[str] = LruMemo(capacity=4096)  # token SHA-256 -> the kid in its header


@dataclass(frozen=True)
class CheckInState:
    license: License  # with vendor and plan attached (the customer loads if an audit needs it)
    verification_public_key: bytes  # the key named by the token's kid
    signing_key: SigningKey  # the vendor's current key: the lease is signed with it
    instance: Instance | None  # the reporting instance, if seen before
    seats_used: int  # instances seen in the seat window (before this check-in)


def _columns(model, *names: str) -> list[str]:
    return [model._meta.get_field(name).column for name in names]


_LICENSE = ("id", "vendor", "customer", "name", "valid_from", "valid_until", "status")
_LICENSE += ("plan", "seats", "sequence", "over_limit")
_INSTANCE = ("id", "version", "metadata", "source", "last_seen")


def _sql() -> str:
    lk, li, ve = (m._meta.db_table for m in (LicenseKey, License, Vendor))
    pl, sk, ins = (m._meta.db_table for m in (Plan, SigningKey, Instance))
    license_cols = ", ".join(f"l.{c}" for c in _columns(License, *_LICENSE))
    instance_cols = ", ".join(f"i.{c}" for c in _columns(Instance, *_INSTANCE))
    lic, inst_license, inst_id, seen = (
        _columns(LicenseKey, "license")[0],
        _columns(Instance, "license")[0],
        _columns(Instance, "instance_id")[0],
        _columns(Instance, "last_seen")[0],
    )
    return (
        f"SELECT {license_cols}, v.slug, p.seats, p.lease_seconds, "
        f"vk.public_key, ck.id, ck.kid, ck.private_key_sealed, {instance_cols}, "
        f"(SELECT COUNT(*) FROM {ins} s WHERE s.{inst_license} = l.id AND s.{seen} >= %s) "
        f"FROM {lk} k "
        f"JOIN {li} l ON l.id = k.{lic} "
        f"JOIN {ve} v ON v.id = l.vendor_id "
        f"LEFT JOIN {pl} p ON p.id = l.plan_id "
        f"JOIN {sk} vk ON vk.vendor_id = l.vendor_id AND vk.kid = %s "
        "AND vk.retired_at IS NULL "
        f"JOIN {sk} ck ON ck.vendor_id = l.vendor_id AND ck.is_current = %s "
        f"LEFT JOIN {ins} i ON i.{inst_license} = l.id AND i.{inst_id} = %s "
        "WHERE k.token_sha256 = %s"
    )


_QUERY: str | None = None


def _bare(model, alias: str, **values):
    """An instance of `model` as `Model.from_db` builds one from these columns (the rest
    deferred, loaded on access), without running `Model.__init__`: its field loop and its
    pre_init and post_init signals were a seventh of a check-in's CPU. Only for models no
    receiver listens to; for one that gets receivers, from_db."""
    if _has_init_receivers(model):
        return model.from_db(alias, list(values), list(values.values()))
    instance = model.__new__(model)
    instance.__dict__.update(values)
    instance._state = ModelState()
    instance._state.adding = False
    instance._state.db = alias
    return instance


def _has_init_receivers(model) -> bool:
    return signals.pre_init.has_listeners(model) or signals.post_init.has_listeners(model)


def _cache(instance, relation: str, related) -> None:
    """What select_related does: the related object, in the relation's cache."""
    instance._meta.get_field(relation).set_cached_value(instance, related)


def _date(value) -> datetime.date | None:
    return datetime.date.fromisoformat(value) if isinstance(value, str) else value


def _datetime(value) -> datetime.datetime | None:
    """As the ORM gives it: aware (SQLite hands back text, psycopg an aware datetime)."""
    if isinstance(value, str):
        try:
            value = datetime.datetime.fromisoformat(value)  # what Django writes, in C
        except ValueError:
            value = parse_datetime(value)
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=datetime.UTC)
    return value


def checkin_state(
    *, token_sha256: str, kid: str, instance_id: str, seats_since: datetime.datetime
) -> CheckInState | None:
    """The state of a key's license as of now, or None: the general path explains."""
    global _QUERY
    if _QUERY is None:
        _QUERY = _sql()
    with prepared_cursor() as cursor:
        cursor.execute(_QUERY, [seats_since, kid, True, instance_id, token_sha256])
        row = cursor.fetchone()
    if row is None:
        return None
    (lid, vendor_id, customer_id, name, valid_from, valid_until, status, plan_id, seats) = row[:9]
    sequence, over_limit, vendor_slug = row[9:12]
    plan_seats, lease_seconds, public_key, signer_id, signer_kid, sealed = row[12:18]
    instance_pk, version, metadata, source, last_seen = row[18:23]
    seats_used = row[23]
    alias = connection.alias
    license = _bare(
        License,
        alias,
        id=lid,
        vendor_id=vendor_id,
        customer_id=customer_id,
        name=name,
        valid_from=_date(valid_from),
        valid_until=_date(valid_until),
        status=status,
        plan_id=plan_id,
        seats=seats,
        sequence=sequence,
        over_limit=bool(over_limit),
    )
    _cache(license, "vendor", _bare(Vendor, alias, id=vendor_id, slug=vendor_slug))
    if plan_id is not None:
        plan = _bare(
            Plan,
            alias,
            id=plan_id,
            vendor_id=vendor_id,
            seats=plan_seats,
            lease_seconds=lease_seconds,
        )
        _cache(license, "plan", plan)
    instance = None
    if instance_pk is not None:
        instance = _bare(
            Instance,
            alias,
            id=instance_pk,
            license_id=lid,
            instance_id=instance_id,
            version=version,
            metadata=json.loads(metadata) if isinstance(metadata, str) else metadata,
            source=source,
            last_seen=_datetime(last_seen),
        )
    signing_key = _bare(
        SigningKey,
        alias,
        id=signer_id,
        vendor_id=vendor_id,
        kid=signer_kid,
        private_key_sealed=bytes(sealed),
        is_current=True,
    )
    return CheckInState(
        license=license,
        verification_public_key=bytes(public_key),
        signing_key=signing_key,
        instance=instance,
        seats_used=int(seats_used),
    )


def kid_memo(token_sha256: str) -> str | None:
    """The kid a token's header names, as `jws_kid` read it before: a token's header
    never changes, so neither does the answer."""
    return _kids.get(token_sha256)


def kid_remember(token_sha256: str, kid: str) -> None:
    _kids.put(token_sha256, kid)


def verified_claims_memo(token_sha256: str, kid: str) -> dict | None:
    return _verified_claims.get(f"{token_sha256}:{kid}")


def verified_claims_remember(token_sha256: str, kid: str, claims: dict) -> None:
    _verified_claims.put(f"{token_sha256}:{kid}", claims)
