"""Secrets and signatures, the Standard Webhooks way (https://www.standardwebhooks.com):
`webhook-signature: v1,<base64 HMAC-SHA256("{id}.{timestamp}.{body}")>` keyed with the
base64-decoded part of `whsec_<base64>`.

The signing itself is the `standardwebhooks` package's (the spec authors' own, no
dependencies), so what we send is what their verifiers in every language accept."""

import base64
import datetime
import secrets

from standardwebhooks.webhooks import Webhook

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret
SECRET_BYTES = 32


def secret_generate() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def signature_header(*, secrets_: list[str], msg_id: str, timestamp: int, body: str) -> str:
    """The `webhook-signature` value: one `v1,<sig>` per secret, space-separated (two
    while a rotated-out secret is still honoured)."""
    when = datetime.datetime.fromtimestamp(timestamp, tz=datetime.UTC)
    return " ".join(
        Webhook(secret).sign(msg_id=msg_id, timestamp=when, data=body) for secret in secrets_
    )
