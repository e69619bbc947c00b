"""End to end on real processes: gunicorn serves pulls (skopeo), capture appends to the
real Redis, a real Celery worker ingests; crash safety under SIGKILL; Redis unreachable
during pulls."""

import time
import uuid

import pytest
import redis
import requests
from django.utils import timezone

from analytics.capture import stream
from analytics.capture.events import pull_fields
from analytics.models import PullEvent, PullEventOutbox, PullRollup
from customers.services import customer_create, token_mint
from tests.analytics.conftest import real_redis, redis_url
from tests.analytics.worker import CeleryWorker
from tests.conftest import license_grant
from tests.support.oci_layout import image_layout, index_layout
from tests.support.server import LiveRegistry, free_port
from tests.support.skopeo import skopeo

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def redis_names(settings):
    """A stream and a Celery queue of this test's own on the real Redis."""
    names = {
        "stream": f"test:pulls:{uuid.uuid4().hex}",
        "queue": f"test-analytics-{uuid.uuid4().hex[:8]}",
    }
    settings.ANALYTICS_REDIS_URL = redis_url()
    settings.ANALYTICS_STREAM = names["stream"]
    client = real_redis()
    yield names
    client.delete(names["stream"], names["queue"])


@pytest.fixture
def workers(redis_names):
    started: list[CeleryWorker] = []

    def start(**env) -> CeleryWorker:
        worker = CeleryWorker(
            broker_url=redis_url(),
            queue=redis_names["queue"],
            name=f"w{len(started)}",
            env={
                "ANALYTICS_REDIS_URL": redis_url(),
                "ANALYTICS_STREAM": redis_names["stream"],
                "ANALYTICS_CLAIM_IDLE_SECONDS": "1",
                **env,
            },
        )
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def server(redis_names):
    started: list[LiveRegistry] = []

    def start(analytics_redis_url: str) -> LiveRegistry:
        registry = LiveRegistry(
            extra_env={
                "ANALYTICS_REDIS_URL": analytics_redis_url,
                "ANALYTICS_STREAM": redis_names["stream"],
                "ANALYTICS_REDIS_TIMEOUT_SECONDS": "0.2",
            }
        )
        started.append(registry)
        return registry

    yield start
    for registry in started:
        registry.stop()


@pytest.fixture
def acme(vendor, push_secret):
    globex = customer_create(vendor=vendor, slug="globex", name="Globex")[0]
    initech = customer_create(vendor=vendor, slug="initech", name="Initech")[0]
    return {
        "push": ("ci", push_secret),
        "globex": (globex, _pull_secret(globex)),
        "initech": (initech, _pull_secret(initech)),
    }


def _pull_secret(customer) -> str:
    return token_mint(vendor=customer.vendor, customer=customer, kind="pull", name="k").secret


def _push(registry, credentials, layout, repo: str, *, all_platforms=False) -> None:
    skopeo(
        "copy",
        "--preserve-digests",
        *(["--all"] if all_platforms else []),
        "--dest-tls-verify=false",
        layout.ref,
        f"docker://{registry.host}/{repo}:{layout.tag}",
        auth={registry.host: credentials},
    )


def _pull(registry, who, repo: str, tag: str, target, *, all_platforms=False) -> None:
    customer, secret = who
    skopeo(
        "copy",
        "--preserve-digests",
        *(["--all"] if all_platforms else []),
        "--src-tls-verify=false",
        f"docker://{registry.host}/{repo}:{tag}",
        f"oci:{target}:{tag}",
        auth={registry.host: (customer.slug, secret)},
    )


def _ingest_until(worker, done, timeout: float = 60) -> None:
    """Ask the worker for ingestion passes until `done()` holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        worker.ingest()
        time.sleep(0.5)
        if done():
            return
    raise TimeoutError(f"ingestion did not finish:\n{worker.log()[-3000:]}")


def _stream_drained(names) -> bool:
    client = redis.Redis.from_url(redis_url())
    if client.xlen(names["stream"]) != 0:
        return False
    groups = client.xinfo_groups(names["stream"])
    return all(group["pending"] == 0 for group in groups)


def _rollups() -> dict[tuple, list[tuple]]:
    """(customer, repository, tag, day) -> (pulls, distinct tokens, distinct addresses) of
    each rollup row (one per digest: each platform image of an index has its own)."""
    rows: dict[tuple, list[tuple]] = {}
    for r in PullRollup.objects.select_related("customer"):
        key = (r.customer.slug if r.customer else None, r.repository, r.tag, r.day)
        rows.setdefault(key, []).append((r.pulls, r.distinct_tokens, r.distinct_addresses))
    return {key: sorted(value) for key, value in rows.items()}


def test_skopeo_pulls_are_ingested_by_a_worker_with_exact_counts(
    server, workers, redis_names, acme, tmp_path
):
    registry = server(redis_url())
    _push(registry, acme["push"], image_layout(tmp_path / "app", [300], tag="1.0"), "acme/app")
    multi = index_layout(tmp_path / "multi", [200], tag="2.0")
    _push(registry, acme["push"], multi, "acme/multi", all_platforms=True)
    globex, initech = acme["globex"], acme["initech"]
    license_grant(globex[0], "acme/app")
    license_grant(globex[0], "acme/multi")
    license_grant(initech[0], "acme/app")

    _pull(registry, globex, "acme/app", "1.0", tmp_path / "g1")
    _pull(registry, globex, "acme/app", "1.0", tmp_path / "g2")
    _pull(registry, globex, "acme/multi", "2.0", tmp_path / "g3", all_platforms=True)
    _pull(registry, initech, "acme/app", "1.0", tmp_path / "i1")
    assert PullEvent.objects.count() == 0  # still in the stream

    worker = workers()
    _ingest_until(worker, lambda: _stream_drained(redis_names) and PullEvent.objects.count())

    today = timezone.now().date()
    assert _rollups() == {
        ("globex", "acme/app", "1.0", today): [(2, 1, 1)],
        ("globex", "acme/multi", "2.0", today): [(1, 1, 1), (1, 1, 1)],
        ("initech", "acme/app", "1.0", today): [(1, 1, 1)],
    }
    # skopeo --all fetched the index and both platform images: a pull per platform image,
    # the index itself uncounted (docs/analytics.md).
    multi_events = PullEvent.objects.filter(repository="acme/multi")
    assert multi_events.filter(counted=True).count() == 2
    assert multi_events.filter(counted=False).count() == 1
    assert PullEvent.objects.filter(counted=True).count() == 5

    # The API on the same server answers from those rollups.
    secret = token_mint(vendor=globex[0].vendor, kind="api", name="e2e", scopes=["read"]).secret
    response = requests.get(
        f"{registry.url}/api/v1/analytics/customers/top",
        params={"days": 1},
        headers={"Authorization": f"Bearer {secret}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    assert [(r["customer"], r["pulls"]) for r in response.json()["results"]] == [
        ("globex", 4),
        ("initech", 1),
    ]


def _append_synthetic(names, customers, count: int) -> None:
    client = redis.Redis.from_url(redis_url())
    for i in range(count):
        customer, _ = customers[i % 2]
        client.xadd(
            names["stream"],
            pull_fields(
                vendor_slug="acme",
                customer_id=customer.id,
                token_prefix=f"distr_pull_t{i % 3}",
                repository="acme/app",
                reference="1.0",
                digest="sha256:" + "c" * 64,
                client_address=f"10.9.0.{i % 4}",
                user_agent="synthetic",
                occurred_at=timezone.now(),
            ),
        )


@pytest.mark.parametrize("kill_at", ["transaction", "ack"])
def test_worker_killed_mid_batch_and_restarted_counts_exactly(workers, redis_names, acme, kill_at):
    customers = [acme["globex"], acme["initech"]]
    _append_synthetic(redis_names, customers, 25)  # three batches of at most 10
    crashing = workers(
        ANALYTICS_BATCH_SIZE="10",
        ANALYTICS_TEST_PAUSE_AT=kill_at,
        ANALYTICS_TEST_PAUSE_SECONDS="60",
    )
    crashing.ingest()
    crashing.wait_for_log(f"analytics test pause: {kill_at}")
    crashing.kill()
    # "transaction": the batch was rolled back; "ack": it is committed but unacknowledged.
    assert PullEvent.objects.count() == (0 if kill_at == "transaction" else 10)
    pending = redis.Redis.from_url(redis_url()).xpending(redis_names["stream"], stream.GROUP)
    assert pending["pending"] == 10

    restarted = workers(ANALYTICS_BATCH_SIZE="10")
    _ingest_until(restarted, lambda: _stream_drained(redis_names))

    assert PullEvent.objects.count() == 25
    today = timezone.now().date()
    # i % 2 picks the customer; globex got i = 0, 2, …, 24 (13 events), initech 12.
    # Tokens t0..t2 and addresses .0-.3: globex's even i see t0,t1,t2 and .0,.2 only.
    assert _rollups() == {
        ("globex", "acme/app", "1.0", today): [(13, 3, 2)],
        ("initech", "acme/app", "1.0", today): [(12, 3, 2)],
    }


def test_pulls_succeed_with_redis_unreachable_and_are_counted_later(
    server, workers, redis_names, acme, tmp_path
):
    closed = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    registry = server(closed)
    _push(registry, acme["push"], image_layout(tmp_path / "app", [300], tag="1.0"), "acme/app")
    globex = acme["globex"]
    license_grant(globex[0], "acme/app")
    for n in range(3):
        _pull(registry, globex, "acme/app", "1.0", tmp_path / f"g{n}")
    assert PullEventOutbox.objects.count() == 3

    worker = workers()
    _ingest_until(worker, lambda: PullEventOutbox.objects.count() == 0)
    assert _rollups() == {("globex", "acme/app", "1.0", timezone.now().date()): [(3, 1, 1)]}
