"""Analytics fixtures: a real Redis (REDIS_URL in CI, DB 14 locally) with a stream of its
own per test, or the embedded mode (no Redis, events written to the database)."""

import json
import os
import uuid

import pytest
import redis
from django.test import Client

from analytics.capture import stream
from customers.services import customer_create, token_mint
from tests.conftest import basic, license_grant
from tests.support.registry_client import OCI_INDEX, image_manifest, put_manifest, sha256
from tests.support.requirements import missing

LOCAL_REDIS_URL = "redis://127.0.0.1:6379/14"


def redis_url() -> str:
    return os.environ.get("REDIS_URL") or LOCAL_REDIS_URL


def real_redis() -> redis.Redis:
    """A client of the real Redis; skips locally (fails under CI) when none answers."""
    client = redis.Redis.from_url(redis_url(), socket_connect_timeout=2)
    try:
        client.ping()
    except redis.ConnectionError:
        missing(f"Redis at {redis_url()} is not available")
    return client


@pytest.fixture
def stream_mode(settings):
    """Capture appends to a fresh stream on the real Redis; removed afterwards."""
    settings.ANALYTICS_REDIS_URL = redis_url()
    settings.ANALYTICS_STREAM = f"test:pulls:{uuid.uuid4().hex}"
    settings.ANALYTICS_CLAIM_IDLE_SECONDS = 60
    stream.capture_breaker.reset()
    client = real_redis()
    yield client
    client.delete(settings.ANALYTICS_STREAM)
    stream.capture_breaker.reset()


@pytest.fixture
def embedded_mode(settings):
    settings.ANALYTICS_REDIS_URL = ""


@pytest.fixture
def other_customer(vendor):
    return customer_create(vendor=vendor, slug="initech", name="Initech")[0]


def pull_client(customer) -> Client:
    secret = token_mint(vendor=customer.vendor, customer=customer, kind="pull", name="p").secret
    return Client(HTTP_AUTHORIZATION=basic(secret), REMOTE_ADDR="10.0.0.1")


def push_image(client, repo: str, tag: str) -> str:
    _, raw = image_manifest(client, repo)
    response = put_manifest(client, repo, tag, raw)
    assert response.status_code == 201, response.content
    return response["Docker-Content-Digest"]


def push_index(client, repo: str, tag: str) -> tuple[str, list[str]]:
    """An index of two platform manifests; returns (index digest, child digests)."""
    children = []
    for arch in ("amd64", "arm64"):
        manifest, raw = image_manifest(client, repo, annotations={"arch": arch})
        digest = sha256(raw)
        assert put_manifest(client, repo, digest, raw).status_code == 201
        children.append({"mediaType": manifest["mediaType"], "digest": digest, "size": len(raw)})
    raw = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": children}).encode()
    response = put_manifest(client, repo, tag, raw, media_type=OCI_INDEX)
    assert response.status_code == 201, response.content
    return response["Docker-Content-Digest"], [c["digest"] for c in children]


@pytest.fixture
def licensed(client, vendor, customer, other_customer):
    """acme/app 1.0 (image), 1.1 (image) and 2.0 (index), licensed to both customers."""
    pushed = {"1.0": push_image(client, "acme/app", "1.0")}
    pushed["1.1"] = push_image(client, "acme/app", "1.1")
    pushed["2.0"], pushed["2.0-children"] = push_index(client, "acme/app", "2.0")
    license_grant(customer, "acme/app")
    license_grant(other_customer, "acme/app")
    return pushed


def store_pulls(
    customer,
    repository: str,
    tag: str,
    *,
    days_ago: int = 0,
    count: int = 1,
    prefix: str = "distr_pull_tok",
    address: str = "10.2.0.1",
    vendor_slug=None,
):
    """Ingest `count` pulls by tag as if captured `days_ago` days ago (real ingestion)."""
    import datetime

    from django.utils import timezone

    from analytics.capture.events import CapturedPull
    from analytics.ingestion import pull_events_store

    when = timezone.now() - datetime.timedelta(days=days_ago)
    pull_events_store(
        events=[
            CapturedPull(
                event_id=f"db:{uuid.uuid4().hex}",
                vendor_slug=vendor_slug or customer.vendor.slug,
                customer_id=customer.id,
                token_prefix=prefix,
                repository=repository,
                reference=tag,
                digest="sha256:" + uuid.uuid5(uuid.NAMESPACE_URL, tag).hex * 2,
                client_address=address,
                user_agent="test",
                occurred_at=when,
            )
            for _ in range(count)
        ]
    )


@pytest.fixture
def history(client, vendor, customer, other_customer):
    """acme/app tags 1.0, 1.1, 2.0 (pushed in that order); globex pulled 1.0 three times
    two days ago and 2.0 today; initech 1.0 twice 40 days ago and 1.1 once 35 days ago;
    hooli is licensed and never pulled. Vendor umbrella has pulls of its own."""
    from customers.services import vendor_create

    for tag in ("1.0", "1.1", "2.0"):
        push_image(client, "acme/app", tag)
    hooli = customer_create(vendor=vendor, slug="hooli", name="Hooli")[0]
    for who in (customer, other_customer, hooli):
        license_grant(who, "acme/app")
    store_pulls(customer, "acme/app", "1.0", days_ago=2, count=3)
    store_pulls(customer, "acme/app", "2.0", days_ago=0, count=1, prefix="distr_pull_two")
    store_pulls(other_customer, "acme/app", "1.0", days_ago=40, count=2)
    store_pulls(other_customer, "acme/app", "1.1", days_ago=35, count=1)
    umbrella = vendor_create(slug="umbrella", name="Umbrella")[0]
    wesker = customer_create(vendor=umbrella, slug="wesker", name="Wesker")[0]
    store_pulls(wesker, "umbrella/tool", "1.0", count=5)
    return {
        "globex": customer,
        "initech": other_customer,
        "hooli": hooli,
        "umbrella": umbrella,
        "wesker": wesker,
    }
