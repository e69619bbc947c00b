"""Writes for vendors, customers, tokens and the audit log."""

import datetime
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.changes import customer_changed, token_changed
from customers import request_context
from customers.models import AccessToken, AuditEvent, Customer, CustomerMember, Vendor
from customers.observers import audit_recorded
from customers.scopes import ScopeError, scopes_validate
from customers.tokens import secret_generate, secret_hash, secret_prefix

TOKEN_ACTIONS = ("pull", "push", "delete")
LAST_USED_RESOLUTION = datetime.timedelta(minutes=1)


class TokenError(ValueError):
    """Bad input for a token operation (message is safe to show)."""


@dataclass(frozen=True)
class MintedToken:
    token: AccessToken
    secret: str  # shown once, never stored


def vendor_create(*, slug: str, name: str = "", actor: str = "") -> tuple[Vendor, bool]:
    vendor = Vendor(slug=slug, name=name or slug)
    vendor.full_clean(validate_unique=False)
    with transaction.atomic():
        vendor, created = Vendor.objects.get_or_create(slug=slug, defaults={"name": vendor.name})
        if created:
            audit_record(
                vendor=vendor,
                action=AuditEvent.Action.VENDOR_CREATED,
                actor=actor,
                target=f"vendor:{slug}",
            )
    return vendor, created


def customer_create(
    *,
    vendor: Vendor,
    slug: str,
    name: str = "",
    contact_email: str = "",
    notes: str = "",
    created_by=None,
) -> tuple[Customer, bool]:
    customer = Customer(vendor=vendor, slug=slug, name=name or slug, contact_email=contact_email)
    customer.full_clean(exclude=["vendor"], validate_unique=False)
    with transaction.atomic():
        customer, created = Customer.objects.get_or_create(
            vendor=vendor,
            slug=slug,
            defaults={"name": customer.name, "contact_email": contact_email, "notes": notes},
        )
        if created:
            audit_record(
                vendor=vendor,
                action=AuditEvent.Action.CUSTOMER_CREATED,
                actor=_user_actor(created_by),
                target=f"customer:{slug}",
            )
    return customer, created


def token_mint(
    *,
    vendor: Vendor,
    kind: str,
    name: str,
    customer: Customer | None = None,
    expires_at: datetime.datetime | None = None,
    repository_patterns: list[str] | None = None,
    actions: list[str] | None = None,
    scopes: list[str] | None = None,
    created_by=None,
) -> MintedToken:
    """Create a token and return it with its secret (the only time the secret exists).
    Push and pull tokens are for the registry; API tokens (`kind="api"`, vendor-owned)
    for the JSON API, with `scopes` (customers/scopes.py)."""
    if scopes and kind != AccessToken.Kind.API:
        raise TokenError("only API tokens have scopes")
    if kind == AccessToken.Kind.API:
        if customer is not None:
            raise TokenError("an API token belongs to the vendor, not a customer")
        if repository_patterns or actions:
            raise TokenError("API tokens are narrowed by scopes, not repositories or actions")
        try:
            scopes = scopes_validate(scopes or ())
        except ScopeError as exc:
            raise TokenError(str(exc)) from None
    elif kind == AccessToken.Kind.PULL:
        if customer is None:
            raise TokenError("a pull token belongs to a customer")
        if customer.vendor_id != vendor.id:
            raise TokenError("that customer belongs to another vendor")
        if repository_patterns or (actions and set(actions) != {"pull"}):
            raise TokenError("pull tokens cannot be narrowed by repository or action")
    elif kind == AccessToken.Kind.PUSH:
        if customer is not None:
            raise TokenError("a push token belongs to the vendor, not a customer")
        unknown = set(actions or ()) - set(TOKEN_ACTIONS)
        if unknown:
            raise TokenError(f"unknown action(s): {', '.join(sorted(unknown))}")
    else:
        raise TokenError(f"unknown token kind {kind!r}")
    if not name.strip():
        raise TokenError("a token needs a name")
    if expires_at is not None and expires_at <= timezone.now():
        raise TokenError("expiry must be in the future")

    for _ in range(3):  # a prefix collision (47 random bits) is astronomically unlikely
        secret = secret_generate(kind)
        try:
            with transaction.atomic():
                token = AccessToken.objects.create(
                    kind=kind,
                    vendor=vendor,
                    customer=customer,
                    name=name.strip(),
                    prefix=secret_prefix(secret),
                    secret_hash=secret_hash(secret),
                    repository_patterns=list(repository_patterns or []),
                    actions=sorted(set(actions or [])),
                    scopes=list(scopes or []),
                    expires_at=expires_at,
                    created_by=created_by,
                )
                audit_record(
                    vendor=vendor,
                    action=AuditEvent.Action.TOKEN_CREATED,
                    actor=_user_actor(created_by),
                    target=f"token:{token.prefix}",
                    details={
                        "kind": kind,
                        "name": token.name,
                        "customer": _slug(customer),
                        **({"scopes": token.scopes} if token.scopes else {}),
                    },
                )
            return MintedToken(token=token, secret=secret)
        except IntegrityError:
            continue
    raise TokenError("could not allocate a token prefix")


def token_revoke(*, token: AccessToken, revoked_by=None) -> bool:
    """Revoke (idempotent). Returns False when it was already revoked."""
    now = timezone.now()
    with transaction.atomic():
        updated = AccessToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=now
        )
        if updated:
            token.revoked_at = now
            token_changed(prefix=token.prefix)  # commits with the revocation
            audit_record(
                vendor=token.vendor,
                action=AuditEvent.Action.TOKEN_REVOKED,
                actor=_user_actor(revoked_by),
                target=f"token:{token.prefix}",
            )
    return bool(updated)


def token_touch(*, token: AccessToken) -> None:
    """Record use, at most once a minute per token (no write on most requests)."""
    now = timezone.now()
    if token.last_used_at and now - token.last_used_at < LAST_USED_RESOLUTION:
        return
    AccessToken.objects.filter(pk=token.pk).exclude(
        last_used_at__gte=now - LAST_USED_RESOLUTION
    ).update(last_used_at=now)
    token.last_used_at = now


def audit_record(
    *,
    action: str,
    vendor: Vendor | None = None,
    actor: str = "",
    target: str = "",
    client_address: str | None = None,
    details: dict | None = None,
) -> AuditEvent:
    # One block, so the observers' rows (the webhooks outbox) commit with this row even
    # where the caller holds no transaction of its own.
    with transaction.atomic():
        event = AuditEvent.objects.create(
            vendor=vendor,
            action=action,
            # A service given no user acts for the running command, or "system".
            actor=(actor or request_context.actor.get())[:200],
            target=target[:400],
            # Inside a request, the client's address unless the caller names one.
            client_address=client_address or request_context.client_address.get(),
            details=details or {},
        )
        audit_recorded(event)
    return event


def _user_actor(user) -> str:
    return f"user:{user.pk}" if user is not None else ""  # "": audit_record's default


def _slug(customer: Customer | None) -> str:
    return customer.slug if customer else ""


def customer_update(
    *, customer: Customer, name: str, contact_email: str = "", notes: str = "", updated_by=None
) -> Customer:
    if not name.strip():
        raise ValueError("a customer needs a name")
    with transaction.atomic():
        Customer.objects.filter(pk=customer.pk).update(
            name=name.strip(), contact_email=contact_email, notes=notes
        )
        customer.name, customer.contact_email, customer.notes = name.strip(), contact_email, notes
        audit_record(
            vendor=customer.vendor,
            action=AuditEvent.Action.CUSTOMER_UPDATED,
            actor=_user_actor(updated_by),
            target=f"customer:{customer.slug}",
        )
    return customer


def customer_set_suspended(
    *, customer: Customer, suspended: bool, changed_by=None, actor: str = ""
) -> Customer:
    """Suspend (nothing pulls, nobody signs in) or resume a customer. Replaces the
    customer's generation in the same transaction, so entitlements change with the commit."""
    with transaction.atomic():
        customer.suspended_at = timezone.now() if suspended else None
        Customer.objects.filter(pk=customer.pk).update(suspended_at=customer.suspended_at)
        audit_record(
            vendor=customer.vendor,
            action=(
                AuditEvent.Action.CUSTOMER_SUSPENDED
                if suspended
                else AuditEvent.Action.CUSTOMER_RESUMED
            ),
            actor=actor or _user_actor(changed_by),
            target=f"customer:{customer.slug}",
        )
        customer_changed(customer_id=customer.pk)
    return customer


class CustomerDeleteRefused(ValueError):
    pass


def customer_delete(*, customer: Customer, deleted_by=None, actor: str = "") -> dict:
    """Delete a suspended customer and everything that is only theirs: licenses and grants,
    tokens, memberships and invitations, and their pull history (analytics rows cascade).
    The audit log keeps the row saying what went. Suspension first is the safety catch: an
    active customer is never one click from deletion, and nothing of theirs pulls while
    the vendor decides. Every process stops honouring their tokens from the commit (their
    generations are bumped with the delete). Returns what was removed, by kind."""
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        if customer.suspended_at is None:
            raise CustomerDeleteRefused("suspend the customer before deleting it")
        prefixes = list(customer.tokens.values_list("prefix", flat=True))
        removed = {
            "licenses": customer.licenses.count(),
            "tokens": len(prefixes),
            "members": customer.members.count(),
        }
        audit_record(
            vendor=customer.vendor,
            action=AuditEvent.Action.CUSTOMER_DELETED,
            actor=actor or _user_actor(deleted_by),
            target=f"customer:{customer.slug}",
            details={"name": customer.name, **removed},
        )
        for prefix in prefixes:
            token_changed(prefix=prefix)
        customer_changed(customer_id=customer.pk)
        customer.delete()
    return removed


def member_release_notices_set(*, member: CustomerMember, enabled: bool) -> None:
    """Opt a customer user in to (or out of) release emails; the user changes it."""
    with transaction.atomic():
        if (
            CustomerMember.objects.filter(pk=member.pk)
            .exclude(release_notices=enabled)
            .update(release_notices=enabled)
        ):
            member.release_notices = enabled
            audit_record(
                vendor=member.customer.vendor,
                action=AuditEvent.Action.MEMBER_NOTICES_CHANGED,
                actor=f"user:{member.user_id}",
                target=f"user:{member.user_id}",
                details={"customer": member.customer.slug, "release_notices": enabled},
            )


# --- failed authentications (the registry's and the API's) ------------------------------

AUTH_FAILURE_WINDOW_SECONDS = 60


def _auth_failures_key(address: str) -> str:
    return f"registry:authfail-count:{address}:{int(time.time()) // 60}"


def auth_failures_exceeded(*, address: str) -> bool:
    """This address failed REGISTRY_AUTH_FAILURES_PER_MINUTE times this minute: refuse
    it until the minute is over, whatever it sends (guessing stays slow everywhere)."""
    count = cache.get(_auth_failures_key(address)) or 0
    return count >= settings.REGISTRY_AUTH_FAILURES_PER_MINUTE


def auth_failures_retry_after() -> int:
    return 60 - int(time.time()) % 60


def auth_failure_record(*, address: str, path: str, refused: AccessToken | None) -> None:
    """Count the failure in the shared cache (every process sees the same count), and
    audit it: one row per client address and token per minute, so a flood of bad
    credentials cannot grow the audit table at request rate. `refused`: the real token
    behind a revoked or expired secret, whose vendor's log then shows the refusal."""
    key = _auth_failures_key(address)
    cache.add(key, 0, 120)
    try:
        cache.incr(key)
    except ValueError:  # evicted between add and incr: count it again
        cache.add(key, 1, 120)
    who = f"token:{refused.prefix}" if refused else "unknown"
    if not cache.add(f"registry:authfail:{address}:{who}", 1, AUTH_FAILURE_WINDOW_SECONDS):
        return
    details = {"path": path[:200], "window_seconds": AUTH_FAILURE_WINDOW_SECONDS}
    if refused is not None:
        details["reason"] = "revoked" if refused.revoked_at else "expired"
    audit_record(
        vendor=refused.vendor if refused else None,
        action=AuditEvent.Action.AUTH_FAILED,
        actor=who,
        target=refused.name if refused else "",
        client_address=address if address != "unknown" else None,
        details=details,
    )
