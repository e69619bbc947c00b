"""Who is asking: the principal behind a registry request.

Credentials are a Bearer JWT from `/v2/token` or Basic credentials whose password is a
token secret (the username is free-form). A JWT says who asked and which scopes were
granted; the token behind it is re-checked on every request: this process memoises the
token's principal under the token's generation (core/changes.py) and reads that
generation, with the customer's and the repository's, in one query per request. A
revocation replaces the generation in its own transaction, so every process refuses the
token from the first request after the revocation commits.
"""

import base64
import binascii
import datetime
from dataclasses import dataclass, field

from django.utils import timezone

from core.changes import (
    Generations,
    customer_generation_key,
    repository_generation_key,
    token_generation_key,
)
from core.memo import LruMemo
from customers.models import AccessToken
from customers.selectors import (
    REGISTRY_KINDS,
    token_authenticate,
    token_get_by_prefix,
    token_refused,
)
from customers.services import (
    auth_failure_record,
    auth_failures_exceeded,
    auth_failures_retry_after,
    token_touch,
)
from registry.errors import TooManyRequests, Unauthorized
from registry.signing import TokenInvalid, token_verify

ALL_ACTIONS = frozenset({"pull", "push", "delete"})


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
    # The generations this request read (shared with the license decision: one query).
    generations: Generations = field(default_factory=Generations, compare=False, hash=False)

    @property
    def is_anonymous(self) -> bool:
        return self.kind == "anonymous"

    @property
    def actor(self) -> str:
        return f"token:{self.token_prefix}" if self.token_prefix else "anonymous"


ANONYMOUS = Principal(kind="anonymous")  # for the token endpoint; requests get their own


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


def principal_for_customer(*, vendor_id: int, vendor_slug: str, customer_id: int) -> Principal:
    """The customer as the registry sees any of its pull tokens: what the portal asks
    registry.access about, so its pages list exactly what those tokens can pull."""
    return Principal(
        kind="pull",
        vendor_id=vendor_id,
        vendor_slug=vendor_slug,
        customer_id=customer_id,
        actions=frozenset({"pull"}),
    )


def principal_from_request(request, *, repository_name: str | None = None) -> Principal:
    """The caller; `repository_name` (when the request names one) lets the token check
    read the repository's generation in the same query."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if not header:
        return Principal(kind="anonymous")
    scheme, _, credentials = header.partition(" ")
    scheme = scheme.lower()
    if scheme == "bearer":
        return principal_from_jwt(credentials.strip(), repository_name=repository_name)
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
    """Check a token secret; record a failed attempt in the audit log. An address that
    failed REGISTRY_AUTH_FAILURES_PER_MINUTE times this minute is refused (429) until the
    minute is over, whatever it sends: guessing stays slow, and one flood cannot burn CPU."""
    address = request.META.get("REMOTE_ADDR") or "unknown"
    if auth_failures_exceeded(address=address):
        raise TooManyRequests(
            "too many failed authentications from your address; try again in a minute",
            headers={"Retry-After": str(auth_failures_retry_after())},
        )
    token = token_authenticate(secret=secret) if secret else None
    if token is None:
        auth_failure_record(
            address=address,
            path=request.path,
            refused=token_refused(secret=secret) if secret else None,
        )
        return None
    token_touch(token=token)
    return principal_for_token(token)


def principal_from_jwt(raw: str, *, repository_name: str | None = None) -> Principal:
    try:
        claims = token_verify(raw)
    except TokenInvalid as exc:
        raise Unauthorized(f"invalid token: {exc}", challenge_error="invalid_token") from None
    granted = _granted(claims.get("access"))
    prefix = claims["sub"]
    if not prefix:
        return Principal(kind="anonymous", granted=granted)
    generations = Generations()
    principal = _principal_live(prefix, generations, repository_name)
    if principal is None:
        raise Unauthorized("token revoked or expired", challenge_error="invalid_token")
    return Principal(**{**principal.__dict__, "granted": granted, "generations": generations})


@dataclass(frozen=True)
class _TokenMemo:
    principal: Principal | None  # None: the token is revoked or unknown
    generation: int
    expires_at: datetime.datetime | None


# Principals of tokens this process has seen, each under the token generation it was read
# at; `_principal_live` compares that generation on every request.
_token_memos: LruMemo[_TokenMemo] = LruMemo(capacity=4096)


def _principal_live(
    prefix: str, generations: Generations, repository_name: str | None
) -> Principal | None:
    """The token's principal if it is live now. One query reads the token's generation and,
    when they will be needed, the customer's and the repository's; a second reads the token
    row only when this process has not seen the current generation yet."""
    token_key = token_generation_key(prefix)
    memo = _token_memos.get(prefix)
    keys = [token_key]
    customer_id = memo.principal.customer_id if memo and memo.principal else None
    if customer_id is not None:
        keys.append(customer_generation_key(customer_id))
        if repository_name:
            keys.append(repository_generation_key(repository_name))
    generations.prefetch(keys)
    generation = generations.get(token_key)
    if memo is None or memo.generation != generation:
        # Read after the generation: the row is at least as new as the value we keep.
        token = token_get_by_prefix(prefix=prefix)
        # An API token never gets a JWT (token_authenticate refuses it); refuse its
        # prefix here too, whatever signed claim names it.
        live = token is not None and token.revoked_at is None and token.kind in REGISTRY_KINDS
        memo = _TokenMemo(
            principal=principal_for_token(token) if live else None,
            generation=generation,
            expires_at=token.expires_at if token is not None else None,
        )
        _token_memos.put(prefix, memo)
    if memo.principal is None:
        return None
    if memo.expires_at is not None and memo.expires_at <= timezone.now():
        return None
    return memo.principal


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
