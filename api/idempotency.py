"""`Idempotency-Key` on POST (draft-ietf-httpapi-idempotency-key-header): the first
successful answer is stored with the change, in one transaction; a retry with the same key
and the same request gets that answer again (`Idempotent-Replayed: true`) and creates
nothing; the same key with a different request is refused (422). A request that failed
stored nothing, so its retry runs afresh. Keys are per vendor and caller and live
API_IDEMPOTENCY_HOURS: an older one is forgotten when it is used again, and beat purges
the rest hourly (api.tasks).

Secrets are never stored: a view lists the fields of its answer that hold one
(`idempotency_secret_fields`: a minted token's `secret`, an invitation's `link`, a
webhook's signing secret) and the stored answer has them as null. A replay therefore says
what was created without the secret, which was shown once, in the first answer; a client
that lost it revokes and mints again."""

import datetime
import functools
import hashlib

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.response import Response

from api.models import IdempotencyKey
from api.problems import Unprocessable

HEADER = "Idempotency-Key"


def idempotent(handler):
    """Decorate an APIView's `post`."""

    @functools.wraps(handler)
    def wrapper(view, request, *args, **kwargs):
        key = request.headers.get(HEADER, "").strip()
        if not key:
            return handler(view, request, *args, **kwargs)
        if len(key) > 255:
            raise Unprocessable(f"{HEADER} is longer than 255 characters")
        fingerprint = _fingerprint(request)
        scope = {"vendor": request.vendor, "principal": view.principal_label(request), "key": key}
        IdempotencyKey.objects.filter(**scope, created_at__lt=expired_before()).delete()
        stored = IdempotencyKey.objects.filter(**scope).first()
        if stored is not None:
            return _replay(stored, fingerprint)
        try:
            with transaction.atomic():
                response = handler(view, request, *args, **kwargs)
                if 200 <= response.status_code < 300:
                    IdempotencyKey.objects.create(
                        **scope,
                        fingerprint=fingerprint,
                        status_code=response.status_code,
                        body=_without_secrets(response.data, view),
                        location=response.get("Location", ""),
                    )
        except IntegrityError:
            # The same key committed by a concurrent request while this one ran: this
            # one's change rolled back with it; answer what the other one answered.
            stored = IdempotencyKey.objects.filter(**scope).first()
            if stored is None:
                raise
            return _replay(stored, fingerprint)
        return response

    return wrapper


def expired_before():
    return timezone.now() - datetime.timedelta(hours=settings.API_IDEMPOTENCY_HOURS)


def idempotency_keys_purge() -> int:
    """Delete keys past their lifetime; returns how many."""
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=expired_before()).delete()
    return deleted


def _replay(stored: IdempotencyKey, fingerprint: str) -> Response:
    if stored.fingerprint != fingerprint:
        raise Unprocessable(f"this {HEADER} was used for a different request")
    headers = {"Idempotent-Replayed": "true"}
    if stored.location:
        headers["Location"] = stored.location
    return Response(stored.body, status=stored.status_code, headers=headers)


def _without_secrets(body, view):
    fields = getattr(view, "idempotency_secret_fields", ())
    if not fields or not isinstance(body, dict):
        return body
    return {name: (None if name in fields else value) for name, value in body.items()}


def _fingerprint(request) -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode())
    digest.update(b"\0" + request.get_full_path().encode() + b"\0")
    digest.update(request.body)
    return digest.hexdigest()
