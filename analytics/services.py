"""Writes for analytics besides ingestion: vendor API tokens."""

import datetime
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from analytics.models import ApiToken
from customers.models import Vendor
from customers.tokens import secret_generate, secret_hash, secret_matches, secret_prefix

LAST_USED_RESOLUTION = datetime.timedelta(minutes=1)


@dataclass(frozen=True)
class MintedApiToken:
    token: ApiToken
    secret: str  # shown once, never stored


def api_token_mint(
    *, vendor: Vendor, name: str, created_by=None, expires_at=None
) -> MintedApiToken:
    if not name.strip():
        raise ValueError("a token needs a name")
    secret = secret_generate("api")
    with transaction.atomic():
        token = ApiToken.objects.create(
            vendor=vendor,
            name=name.strip(),
            prefix=secret_prefix(secret),
            secret_hash=secret_hash(secret),
            expires_at=expires_at,
            created_by=created_by,
        )
    return MintedApiToken(token=token, secret=secret)


def api_token_revoke(*, token: ApiToken) -> bool:
    return bool(
        ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
    )


def api_token_authenticate(*, secret: str) -> ApiToken | None:
    """The live API token for this secret, or None (constant-time, like registry tokens)."""
    prefix = secret_prefix(secret) if secret.startswith("distr_api_") else None
    token = (
        ApiToken.objects.select_related("vendor").filter(prefix=prefix).first() if prefix else None
    )
    if not secret_matches(secret, token.secret_hash if token else None):
        return None
    now = timezone.now()
    if token.revoked_at is not None or (token.expires_at is not None and token.expires_at <= now):
        return None
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token
