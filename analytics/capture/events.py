"""The shape of one captured pull, as it travels through the Redis stream or the outbox.

Field names are short because every pull writes them to Redis; values are strings so a
stream entry and an outbox row decode the same way.
"""

import datetime
from dataclasses import dataclass

USER_AGENT_MAX = 256
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


@dataclass(frozen=True)
class CapturedPull:
    event_id: str  # "r:<stream entry id>" or "db:<uuid>"
    vendor_slug: str
    customer_id: int | None
    token_prefix: str
    repository: str
    reference: str
    digest: str
    client_address: str | None
    user_agent: str
    occurred_at: datetime.datetime
    # Whether the manifest served was an index (manifest list): True, False, or None for an
    # event captured before the kind was recorded (ingestion then asks the database).
    index: bool | None = None


# The "k" field: which kind of manifest the GET served (see analytics.ingestion).
KIND_INDEX = "i"
KIND_IMAGE = "m"


def pull_fields(
    *,
    vendor_slug: str,
    customer_id: int | None,
    token_prefix: str,
    repository: str,
    reference: str,
    digest: str,
    client_address: str | None,
    user_agent: str,
    occurred_at: datetime.datetime,
    index: bool | None = None,
) -> dict[str, str]:
    fields = {
        "v": vendor_slug,
        "c": "" if customer_id is None else str(customer_id),
        "t": token_prefix,
        "r": repository,
        "ref": reference,
        "d": digest,
        "a": client_address or "",
        "ua": user_agent[:USER_AGENT_MAX],
        "ts": str(int(occurred_at.timestamp() * 1_000_000)),
    }
    if index is not None:
        fields["k"] = KIND_INDEX if index else KIND_IMAGE
    return fields


def pull_from_fields(event_id: str, fields: dict) -> CapturedPull:
    """Decode stream or outbox fields (bytes or str); raises ValueError when malformed."""
    if fields and isinstance(next(iter(fields)), bytes):  # a stream entry: all bytes
        f = {k.decode(): v.decode() for k, v in fields.items()}
    else:
        f = {_text(k): _text(v) for k, v in fields.items()}
    micros = int(f["ts"])
    return CapturedPull(
        event_id=event_id,
        vendor_slug=f["v"],
        customer_id=int(f["c"]) if f.get("c") else None,
        token_prefix=f.get("t", "")[:32],
        repository=f["r"][:255],
        reference=f["ref"][:200],
        digest=f["d"][:200],
        client_address=f.get("a") or None,
        user_agent=f.get("ua", "")[:USER_AGENT_MAX],
        occurred_at=_EPOCH + datetime.timedelta(microseconds=micros),
        index={KIND_INDEX: True, KIND_IMAGE: False}.get(f.get("k", "")),
    )


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
