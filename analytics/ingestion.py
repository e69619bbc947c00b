"""Ingestion: captured pulls become PullEvent rows and daily rollups, exactly once.

One transaction per batch inserts the events (skipping any whose stream id is already
stored) and adds to the rollups only what the newly inserted events contribute: pulls,
and the tokens and client addresses not yet counted for that rollup (PullRollupMember).
A batch delivered twice, after a crash between commit and XACK, adds nothing the second
time; a crash before commit rolls the whole batch back. Stream entries are acknowledged
(and deleted) only after the commit.

Counting rule (one image pulled is one pull): a GET that serves an image manifest, by tag
or by digest, is a pull; a GET that serves an index (manifest list) is stored with
counted=False and adds nothing to the rollups, since every client that pulls goes on to
GET the platform image it wants. HEAD is never recorded. A platform image fetched by
digest is attributed to the tag of its index. See docs/analytics.md.
"""

import hashlib
import logging
import time
from collections import defaultdict
from dataclasses import dataclass

import redis
from django.conf import settings
from django.db import connection, transaction

from analytics import bulk, observers
from analytics.capture import stream
from analytics.capture.events import CapturedPull, pull_from_fields
from analytics.models import PullEvent, PullEventOutbox, PullRollup, PullRollupMember
from analytics.observers import StoredPull
from core.versions import tag_order_key
from customers.models import Customer, Vendor
from registry.manifests import INDEX_MEDIA_TYPES
from registry.models import Manifest, ManifestReference, Tag, TagHistory

logger = logging.getLogger(__name__)

_EVENT_COLUMNS = (
    "stream_id",
    "vendor_id",
    "customer_id",
    "token_prefix",
    "repository",
    "reference",
    "digest",
    "tag",
    "counted",
    "client_address",
    "user_agent",
    "occurred_at",
)
_ROLLUP_COLUMNS = (
    "key",
    "vendor_id",
    "customer_id",
    "repository",
    "tag",
    "digest",
    "day",
    "pulls",
    "distinct_tokens",
    "distinct_addresses",
)


@dataclass
class IngestResult:
    read: int = 0  # stream entries and outbox rows taken
    stored: int = 0  # new PullEvent rows
    batches: int = 0
    redis_unreachable: bool = False

    def add(self, other: "IngestResult") -> None:
        self.read += other.read
        self.stored += other.stored
        self.batches += other.batches


# --- storing a batch --------------------------------------------------------------------


def pull_events_store(*, events: list[CapturedPull]) -> int:
    """Store a batch in one transaction; returns how many events were new."""
    with transaction.atomic(durable=True):
        stored = _store(events)
        _test_pause("transaction")
    return stored


def _store(events: list[CapturedPull]) -> int:
    rows = _event_rows(events)
    new_ids = {
        r[0]
        for r in bulk.insert_new_returning(
            table=PullEvent._meta.db_table,
            columns=_EVENT_COLUMNS,
            rows=rows,
            conflict=("stream_id",),
            returning=("stream_id",),
        )
    }
    new_rows = [row for row in rows if row[0] in new_ids]
    _rollups_add([row for row in new_rows if row[8]])  # counted events only
    observers.pulls_stored(
        pulls=[
            StoredPull(row[1], row[2], row[4], row[7], row[6], row[11])
            for row in new_rows
            if row[8] and row[2] is not None  # a customer's counted pulls
        ]
    )
    return len(new_rows)


def _event_rows(events: list[CapturedPull]) -> list[tuple]:
    vendors = dict(
        Vendor.objects.filter(slug__in={e.vendor_slug for e in events}).values_list("slug", "id")
    )
    customer_ids = {e.customer_id for e in events if e.customer_id is not None}
    customer_vendor = dict(
        Customer.objects.filter(id__in=customer_ids).values_list("id", "vendor_id")
    )
    legacy_indexes = _indexes_among([e for e in events if e.index is None])
    by_digest = [e for e in events if ":" in e.reference]  # tags never contain ":"
    tags = _tags_of_digests(by_digest)
    rows = []
    for event in events:
        vendor_id = vendors.get(event.vendor_slug)
        if vendor_id is None:  # the vendor was deleted since the pull: nothing to count
            continue
        customer_id = event.customer_id
        if customer_vendor.get(customer_id) != vendor_id:
            customer_id = None  # deleted customer, or not this vendor's
        pair = (event.repository, event.digest)
        index = event.index if event.index is not None else pair in legacy_indexes
        rows.append(
            (
                event.event_id,
                vendor_id,
                customer_id,
                event.token_prefix,
                event.repository,
                event.reference,
                event.digest,
                tags.get(pair, "") if ":" in event.reference else event.reference,
                not index,  # an image is pulled when its manifest is served; an index never
                event.client_address,
                event.user_agent,
                event.occurred_at,
            )
        )
    return rows


def _indexes_among(events: list[CapturedPull]) -> set[tuple[str, str]]:
    """(repository, digest) pairs among these events that are an index. Only for events
    captured before the "k" field existed; a manifest deleted since counts as an image."""
    if not events:
        return set()
    return set(
        Manifest.objects.filter(
            repository__name__in={e.repository for e in events},
            digest__in={e.digest for e in events},
            media_type__in=INDEX_MEDIA_TYPES,
        ).values_list("repository__name", "digest")
    )


def _parents(events: list[CapturedPull]) -> dict[tuple[str, str], set[str]]:
    """(repository, digest) -> digests of the indexes in that repository listing it."""
    parents: dict[tuple[str, str], set[str]] = defaultdict(set)
    for repository, child, parent in ManifestReference.objects.filter(
        child__repository__name__in={e.repository for e in events},
        child__digest__in={e.digest for e in events},
    ).values_list("child__repository__name", "child__digest", "manifest__digest"):
        parents[(repository, child)].add(parent)
    return parents


def _tags_of_digests(events: list[CapturedPull]) -> dict[tuple[str, str], str]:
    """The tag a by-digest pull stands for: the newest current tag on that digest or on an
    index listing it (a platform manifest is reached through its index's tag), else the
    tag that pointed at one of them most recently."""
    if not events:
        return {}
    parents = _parents(events)
    # Each candidate digest names the event pairs whose tag it may give.
    stands_for: dict[tuple[str, str], set[tuple[str, str]]] = defaultdict(set)
    for event in events:
        pair = (event.repository, event.digest)
        stands_for[pair].add(pair)
        for parent in parents.get(pair, ()):
            stands_for[(event.repository, parent)].add(pair)
    repositories = {repository for repository, _ in stands_for}
    digests = {digest for _, digest in stands_for}
    candidates: dict[tuple[str, str], list[tuple]] = defaultdict(list)
    for repository, digest, name, updated_at in Tag.objects.filter(
        repository__name__in=repositories, manifest__digest__in=digests
    ).values_list("repository__name", "manifest__digest", "name", "updated_at"):
        for pair in stands_for.get((repository, digest), ()):
            candidates[pair].append(tag_order_key(name, updated_at))
    for repository, digest, name, since in TagHistory.objects.filter(
        repository__name__in=repositories, digest__in=digests
    ).values_list("repository__name", "digest", "tag", "since"):
        for pair in stands_for.get((repository, digest), ()):
            # (-1, …) ranks below every current tag (0 or 1 first), above nothing.
            candidates[pair].append((-1, since, name))
    return {pair: max(keys)[-1] for pair, keys in candidates.items()}


def rollup_key(vendor_id, customer_id, repository, tag, digest, day) -> str:
    raw = f"{vendor_id}|{customer_id or ''}|{repository}|{tag}|{digest}|{day.isoformat()}"
    return hashlib.md5(raw.encode(), usedforsecurity=False).hexdigest()


def _rollups_add(rows: list[tuple]) -> None:
    """Add newly stored, counted events to their rollups."""
    if not rows:
        return
    dims: dict[str, tuple] = {}
    pulls: dict[str, int] = defaultdict(int)
    members: set[tuple[str, str, str, object]] = set()
    for row in rows:
        vendor_id, customer_id, token, repository, tag, digest = (
            row[1],
            row[2],
            row[3],
            row[4],
            row[7],
            row[6],
        )
        day = row[11].date()
        key = rollup_key(vendor_id, customer_id, repository, tag, digest, day)
        dims[key] = (vendor_id, customer_id, repository, tag, digest, day)
        pulls[key] += 1
        if token:
            members.add((key, PullRollupMember.Kind.TOKEN.value, token, day))
        if row[9]:
            members.add((key, PullRollupMember.Kind.ADDRESS.value, str(row[9]), day))
    new_members = bulk.insert_new_returning(
        table=PullRollupMember._meta.db_table,
        columns=("rollup_key", "kind", "value", "day"),
        rows=sorted(members),  # a fixed order: concurrent ingesters cannot deadlock
        conflict=("rollup_key", "kind", "value"),
        returning=("rollup_key", "kind"),
    )
    new_tokens: dict[str, int] = defaultdict(int)
    new_addresses: dict[str, int] = defaultdict(int)
    for key, kind in new_members:
        (new_tokens if kind == PullRollupMember.Kind.TOKEN else new_addresses)[key] += 1
    bulk.upsert_adding(
        table=PullRollup._meta.db_table,
        columns=_ROLLUP_COLUMNS,
        rows=[
            (key, *dims[key], pulls[key], new_tokens[key], new_addresses[key])
            for key in sorted(dims)
        ],
        conflict=("key",),
        added=("pulls", "distinct_tokens", "distinct_addresses"),
    )


def _test_pause(where: str) -> None:
    """Test hook (ANALYTICS_TEST_PAUSE_AT): hold a batch here so a crash test can SIGKILL
    the worker at a known point. Never set in production."""
    if settings.ANALYTICS_TEST_PAUSE_AT == where:
        logger.warning("analytics test pause: %s", where)
        time.sleep(settings.ANALYTICS_TEST_PAUSE_SECONDS)


# --- sources: the Redis stream and the database outbox ------------------------------------


def stream_ingest_batch(*, client, consumer: str) -> IngestResult:
    """Take one batch: first entries other consumers left pending (they died), then new
    ones; store them, then acknowledge and delete them."""
    size = settings.ANALYTICS_BATCH_SIZE
    key = stream.stream_key()
    _, entries, deleted = client.xautoclaim(
        key,
        stream.GROUP,
        consumer,
        min_idle_time=int(settings.ANALYTICS_CLAIM_IDLE_SECONDS * 1000),
        start_id="0-0",
        count=size,
    )
    if deleted:  # trimmed away while pending: nothing left to store
        client.xack(key, stream.GROUP, *deleted)
    if not entries:
        reply = client.xreadgroup(stream.GROUP, consumer, {key: ">"}, count=size)
        entries = reply[0][1] if reply else []
    if not entries:
        return IngestResult()
    events, ids = [], []
    for entry_id, fields in entries:
        entry_id = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
        ids.append(entry_id)
        if not fields:  # deleted entry still pending
            continue
        try:
            events.append(pull_from_fields(f"r:{entry_id}", fields))
        except (KeyError, ValueError):
            logger.warning("analytics: dropping malformed stream entry %s", entry_id)
    stored = pull_events_store(events=events)
    _test_pause("ack")
    pipe = client.pipeline(transaction=True)
    pipe.xack(key, stream.GROUP, *ids)
    pipe.xdel(key, *ids)
    pipe.execute()
    return IngestResult(read=len(ids), stored=stored, batches=1)


def outbox_ingest_batch() -> IngestResult:
    """Move one batch of database-written events into PullEvent and the rollups; the
    outbox rows are deleted in the same transaction."""
    size = settings.ANALYTICS_BATCH_SIZE
    with transaction.atomic(durable=True):
        rows = list(
            PullEventOutbox.objects.select_for_update(skip_locked=True)
            .order_by("id")
            .values_list("id", "payload")[:size]
        )
        if not rows:
            return IngestResult()
        events = []
        for row_id, payload in rows:
            try:
                events.append(pull_from_fields(f"db:o{row_id}", payload))
            except (KeyError, ValueError, TypeError):
                logger.warning("analytics: dropping malformed outbox row %s", row_id)
        stored = _store(events)
        PullEventOutbox.objects.filter(id__in=[r[0] for r in rows]).delete()
    return IngestResult(read=len(rows), stored=stored, batches=1)


def _yield_sqlite_lock() -> None:
    """SQLite has one writer, and a thread that starts its next write transaction at once
    keeps winning the lock: pauses between batches let pulls (token last-use) and pushes
    write too. Without the pause, wrk saw manifest GETs time out after 2 s."""
    if connection.vendor == "sqlite":
        time.sleep(settings.ANALYTICS_SQLITE_BATCH_PAUSE_SECONDS)


def ingest_pass(*, max_batches: int | None = None) -> IngestResult:
    """Drain the outbox and the stream until both are empty (or `max_batches` batches)."""
    from analytics.capture.outbox_buffer import buffer

    buffer.flush()  # events this process still holds go first

    result = IngestResult()
    limit = max_batches if max_batches is not None else settings.ANALYTICS_INGEST_MAX_BATCHES
    while result.batches < limit:
        batch = outbox_ingest_batch()
        result.add(batch)
        if batch.read == 0:
            break
        _yield_sqlite_lock()
    if stream.analytics_redis_enabled():
        try:
            _stream_drain(result, limit)
        except redis.ConnectionError as exc:  # the outbox is done; the stream waits
            logger.warning("analytics: Redis unreachable (%s); stream not drained", exc)
            result.redis_unreachable = True
    return result


def _stream_drain(result: IngestResult, limit: int) -> None:
    client = stream.worker_client()
    stream.group_ensure(client)
    consumer = stream.consumer_name()
    while result.batches < limit:
        batch = stream_ingest_batch(client=client, consumer=consumer)
        result.add(batch)
        if batch.read == 0:
            break
