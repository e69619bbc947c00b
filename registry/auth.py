"""Who is asking: the principal behind a registry request.

Credentials are a Bearer JWT from `/v2/token` or Basic credentials whose password is a
token secret (the username is free-form). A JWT says who asked and which scopes were
granted; the token behind it is re-checked (revoked? expired?) through a short cache, so
revocation takes effect within `REGISTRY_PRINCIPAL_CACHE_SECONDS` everywhere, and at once
in the process (or Redis cache) that revoked it.
"""

import base64
import binascii
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache

from customers.models import AccessToken, AuditEvent
from customers.selectors import token_authenticate, token_get_by_prefix, token_is_live
from customers.services import audit_record, token_touch
from registry.errors import Unauthorized
from registry.signing import TokenInvalid, token_verify

ALL_ACTIONS = frozenset({"pull", "push", "delete"})
_CACHE_PREFIX = "registry:principal:"
_DEAD = "dead"
AUTH_FAILURE_WINDOW_SECONDS = 60


@dataclass(frozen=True)
class Principal:
    kind: str  # "anonymous", "push" (vendor CI) or "pull" (customer)
    vendor_id: int | None = None
    vendor_slug: str = ""
    customer_id: int | None = None
    token_prefix: str = ""
    repository_patterns: tuple[str, ...] = ()
    actions: frozenset[str] = frozenset()
    # Scopes a JWT granted, as {(type, name): actions}; None for Basic credentials, which
    # are checked against the token's own rights alone.
    granted: dict | None = field(default=None, compare=False, hash=False)

    @property
    def is_anonymous(self) -> bool:
        return self.kind == "anonymous"

    @property
    def actor(self) -> str:
        return f"token:{self.token_prefix}" if self.token_prefix else "anonymous"


ANONYMOUS = Principal(kind="anonymous")


def principal_for_token(token: AccessToken, granted: dict | None = None) -> Principal:
    if token.kind == AccessToken.Kind.PUSH:
        actions = frozenset(token.actions) if token.actions else ALL_ACTIONS
    else:
        actions = frozenset({"pull"})
    return Principal(
        kind=token.kind,
        vendor_id=token.vendor_id,
        vendor_slug=token.vendor.slug,
        customer_id=token.customer_id,
        token_prefix=token.prefix,
        repository_patterns=tuple(token.repository_patterns or ()),
        actions=actions,
        granted=granted,
    )


def principal_from_request(request) -> Principal:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if not header:
        return ANONYMOUS
    scheme, _, credentials = header.partition(" ")
    scheme = scheme.lower()
    if scheme == "bearer":
        return principal_from_jwt(credentials.strip())
    if scheme == "basic":
        principal = principal_from_secret(basic_password(credentials), request=request)
        if principal is None:
            raise Unauthorized("invalid username or token")
        return principal
    raise Unauthorized("unsupported authorization scheme")


def basic_password(credentials: str) -> str:
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return ""
    return decoded.partition(":")[2]


def principal_from_secret(secret: str, *, request) -> Principal | None:
    """Check a token secret; record a failed attempt in the audit log."""
    token = token_authenticate(secret=secret) if secret else None
    if token is None:
        _audit_failure(request)
        return None
    token_touch(token=token)
    return principal_for_token(token)


def _audit_failure(request) -> None:
    """Record a failed authentication: one row per client address per minute, so a flood
    of bad credentials cannot grow the audit table at request rate."""
    address = request.META.get("REMOTE_ADDR") or "unknown"
    if not cache.add(f"registry:authfail:{address}", 1, AUTH_FAILURE_WINDOW_SECONDS):
        return
    audit_record(
        action=AuditEvent.Action.AUTH_FAILED,
        actor="unknown",
        client_address=request.META.get("REMOTE_ADDR"),
        details={"path": request.path[:200], "window_seconds": AUTH_FAILURE_WINDOW_SECONDS},
    )


def principal_from_jwt(raw: str) -> Principal:
    try:
        claims = token_verify(raw)
    except TokenInvalid as exc:
        raise Unauthorized(f"invalid token: {exc}", challenge_error="invalid_token") from None
    granted = _granted(claims.get("access"))
    prefix = claims["sub"]
    if not prefix:
        return Principal(kind="anonymous", granted=granted)
    principal = _principal_cached(prefix)
    if principal is None:
        raise Unauthorized("token revoked or expired", challenge_error="invalid_token")
    return Principal(**{**principal.__dict__, "granted": granted})


def principal_cache_forget(*, prefix: str) -> None:
    cache.delete(_CACHE_PREFIX + prefix)


def _principal_cached(prefix: str) -> Principal | None:
    key = _CACHE_PREFIX + prefix
    cached = cache.get(key)
    if cached == _DEAD:
        return None
    if cached is not None:
        return Principal(**cached)
    token = token_get_by_prefix(prefix=prefix)
    if token is None or not token_is_live(token):
        cache.set(key, _DEAD, settings.REGISTRY_PRINCIPAL_CACHE_SECONDS)
        return None
    principal = principal_for_token(token)
    fields = {k: v for k, v in principal.__dict__.items() if k != "granted"}
    timeout = settings.REGISTRY_PRINCIPAL_CACHE_SECONDS
    if token.expires_at is not None:  # never cache a token past its expiry
        from django.utils import timezone

        timeout = max(0, min(timeout, int((token.expires_at - timezone.now()).total_seconds())))
    cache.set(key, fields, timeout)
    return principal


def _granted(access) -> dict:
    granted: dict = {}
    if not isinstance(access, list):
        return granted
    for entry in access:
        if isinstance(entry, dict) and isinstance(entry.get("actions"), list):
            key = (str(entry.get("type", "")), str(entry.get("name", "")))
            # The same resource may be listed twice (clients merge challenge scopes).
            granted[key] = granted.get(key, frozenset()) | {str(a) for a in entry["actions"]}
    return granted
