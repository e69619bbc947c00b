"""Capture on manifest GET and the counting rule (one image pulled is one pull): each
client's request sequence, replayed in process. The real clients are in tests/clients."""

import datetime
import uuid

from analytics.ingestion import ingest_pass
from analytics.models import PullEvent, PullEventOutbox, PullRollup
from tests.analytics.conftest import pull_client


def _pull(client, reference: str, repo: str = "acme/app", method: str = "get"):
    response = getattr(client, method)(f"/v2/{repo}/manifests/{reference}")
    assert response.status_code == 200, response.content
    return response


def test_embedded_mode_writes_the_outbox_and_ingestion_rolls_up(embedded_mode, licensed, customer):
    client = pull_client(customer)
    _pull(client, "1.0")
    _pull(client, "1.0")
    assert PullEventOutbox.objects.count() == 2
    assert ingest_pass().stored == 2
    assert PullEventOutbox.objects.count() == 0
    events = list(PullEvent.objects.all())
    assert len(events) == 2
    event = events[0]
    assert event.customer_id == customer.id
    assert event.vendor_id == customer.vendor_id
    assert (event.repository, event.reference, event.tag) == ("acme/app", "1.0", "1.0")
    assert event.digest == licensed["1.0"]
    assert event.client_address == "10.0.0.1"
    assert event.counted is True
    assert event.token_prefix.startswith("distr_pull_")
    rollup = PullRollup.objects.get()
    assert (rollup.pulls, rollup.distinct_tokens, rollup.distinct_addresses) == (2, 1, 1)
    assert rollup.day == datetime.datetime.now(datetime.UTC).date()


def test_capture_records_the_kind_of_manifest_served(embedded_mode, licensed, customer):
    # The view already holds the manifest row: its kind costs the GET no query.
    client = pull_client(customer)
    _pull(client, "1.0")
    _pull(client, "2.0")
    _pull(client, licensed["2.0-children"][0])
    kinds = [
        (p["ref"], p["k"])
        for p in PullEventOutbox.objects.order_by("id").values_list("payload", flat=True)
    ]
    assert kinds == [("1.0", "m"), ("2.0", "i"), (licensed["2.0-children"][0], "m")]


def test_head_and_failed_gets_record_nothing(embedded_mode, licensed, customer):
    client = pull_client(customer)
    _pull(client, "1.0", method="head")
    assert client.get("/v2/acme/app/manifests/9.9").status_code == 404  # licensed, no such tag
    assert PullEventOutbox.objects.count() == 0
    assert PullEvent.objects.count() == 0


def _counted() -> list[tuple[str, str, str]]:
    """(reference, digest, tag) of the counted events, sorted."""
    return sorted(PullEvent.objects.filter(counted=True).values_list("reference", "digest", "tag"))


def test_index_by_tag_then_its_platform_is_one_pull_under_the_tag(
    embedded_mode, licensed, customer
):
    # crane, podman, skopeo: GET the tag (an index), then GET the platform image by digest.
    client = pull_client(customer)
    _pull(client, "2.0")
    child = licensed["2.0-children"][0]
    _pull(client, child)
    ingest_pass()
    assert PullEvent.objects.count() == 2
    assert PullEvent.objects.get(counted=False).digest == licensed["2.0"]
    assert _counted() == [(child, child, "2.0")]
    rollup = PullRollup.objects.get()
    assert (rollup.tag, rollup.digest, rollup.pulls) == ("2.0", child, 1)


def test_head_tag_then_index_and_platform_by_digest_is_one_pull(embedded_mode, licensed, customer):
    # docker and containerd: HEAD the tag, GET the index by digest, GET the platform.
    client = pull_client(customer)
    _pull(client, "2.0", method="head")
    _pull(client, licensed["2.0"])
    _pull(client, licensed["2.0-children"][1])
    ingest_pass()
    child = licensed["2.0-children"][1]
    assert _counted() == [(child, child, "2.0")]
    assert PullRollup.objects.get().pulls == 1


def test_head_tag_then_every_platform_by_digest_counts_each_platform(
    embedded_mode, licensed, customer
):
    # The dodge of R7 (it counted 0): HEAD the index's tag, GET each child by digest. Each
    # platform image fetched is an image pulled, as with `skopeo copy --all`.
    client = pull_client(customer)
    _pull(client, "2.0", method="head")
    for child in licensed["2.0-children"]:
        _pull(client, child)
    ingest_pass()
    assert _counted() == sorted((c, c, "2.0") for c in licensed["2.0-children"])
    assert sorted(PullRollup.objects.values_list("tag", "digest", "pulls")) == sorted(
        ("2.0", c, 1) for c in licensed["2.0-children"]
    )


def test_index_by_tag_then_every_platform_counts_each_platform(embedded_mode, licensed, customer):
    client = pull_client(customer)
    _pull(client, "2.0")  # the index, by tag
    for child in licensed["2.0-children"]:  # what `skopeo copy --all` fetches next
        _pull(client, child)
    ingest_pass()
    assert PullEvent.objects.count() == 3
    assert PullEvent.objects.get(counted=False).digest == licensed["2.0"]
    assert _counted() == sorted((c, c, "2.0") for c in licensed["2.0-children"])


def test_platform_image_pinned_by_digest_is_one_pull_under_its_index_tag(
    embedded_mode, licensed, customer
):
    # `image@sha256:<platform manifest>`: no index request at all (was not counted).
    child = licensed["2.0-children"][0]
    _pull(pull_client(customer), child)
    ingest_pass()
    assert _counted() == [(child, child, "2.0")]


def test_index_pinned_by_digest_then_its_platform_is_one_pull(embedded_mode, licensed, customer):
    client = pull_client(customer)
    _pull(client, licensed["2.0"])
    _pull(client, licensed["2.0-children"][0])
    ingest_pass()
    rollup = PullRollup.objects.get()
    assert (rollup.tag, rollup.digest, rollup.pulls) == ("2.0", licensed["2.0-children"][0], 1)
    assert PullEvent.objects.get(counted=False).reference == licensed["2.0"]


def test_index_alone_is_not_a_pull(embedded_mode, licensed, customer):
    # `crane manifest`, `docker manifest inspect`: the list of platforms, no image.
    _pull(pull_client(customer), "2.0")
    ingest_pass()
    assert PullEvent.objects.get().counted is False
    assert PullRollup.objects.count() == 0


def test_image_pulled_by_digest_counts_under_its_tag(embedded_mode, licensed, customer):
    _pull(pull_client(customer), licensed["1.1"])
    ingest_pass()
    rollup = PullRollup.objects.get()
    assert (rollup.tag, rollup.digest, rollup.pulls) == ("1.1", licensed["1.1"], 1)


def test_events_captured_without_the_kind_are_judged_from_the_database(licensed, customer):
    # Events already in the stream or outbox when this version is deployed carry no "k".
    from analytics.capture.events import pull_fields, pull_from_fields
    from analytics.ingestion import pull_events_store

    def legacy(reference: str, digest: str):
        fields = pull_fields(
            vendor_slug="acme",
            customer_id=customer.id,
            token_prefix="distr_pull_old",
            repository="acme/app",
            reference=reference,
            digest=digest,
            client_address="10.0.0.9",
            user_agent="old",
            occurred_at=datetime.datetime.now(datetime.UTC),
        )
        assert "k" not in fields
        return pull_from_fields(f"db:{uuid.uuid4().hex}", fields)

    child = licensed["2.0-children"][0]
    pull_events_store(events=[legacy("2.0", licensed["2.0"]), legacy(child, child)])
    assert _counted() == [(child, child, "2.0")]


def test_distinct_tokens_and_addresses_are_exact(embedded_mode, licensed, customer):
    first, second = pull_client(customer), pull_client(customer)
    _pull(first, "1.0")
    _pull(first, "1.0")
    _pull(second, "1.0")
    second.defaults["REMOTE_ADDR"] = "10.0.0.2"
    _pull(second, "1.0")
    ingest_pass()
    rollup = PullRollup.objects.get()
    assert (rollup.pulls, rollup.distinct_tokens, rollup.distinct_addresses) == (4, 2, 2)


def test_vendor_ci_pull_is_recorded_without_customer(embedded_mode, licensed, client):
    _pull(client, "1.0")
    ingest_pass()
    rollup = PullRollup.objects.get()
    assert rollup.customer_id is None
    assert (rollup.pulls, rollup.distinct_tokens) == (1, 1)


def test_stream_mode_appends_and_ingestion_counts_once(stream_mode, licensed, customer):
    client = pull_client(customer)
    _pull(client, "1.0")
    _pull(client, "2.0")
    _pull(client, licensed["2.0-children"][1])
    assert PullEvent.objects.count() == 0
    assert stream_mode.xlen(stream_mode_key()) == 3
    result = ingest_pass()
    assert (result.read, result.stored) == (3, 3)
    assert stream_mode.xlen(stream_mode_key()) == 0  # acknowledged and deleted
    assert sorted(PullRollup.objects.values_list("tag", "digest", "pulls")) == [
        ("1.0", licensed["1.0"], 1),
        ("2.0", licensed["2.0-children"][1], 1),
    ]
    assert PullEvent.objects.get(counted=False).digest == licensed["2.0"]
    assert ingest_pass().stored == 0


def test_unreachable_redis_writes_to_the_outbox(stream_mode, settings, licensed, customer):
    settings.ANALYTICS_REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    client = pull_client(customer)
    _pull(client, "1.0")
    _pull(client, "1.0")
    assert PullEventOutbox.objects.count() == 2
    result = ingest_pass()
    assert (result.read, result.stored) == (2, 2)
    assert PullEventOutbox.objects.count() == 0
    assert PullRollup.objects.get().pulls == 2


def stream_mode_key() -> str:
    from django.conf import settings

    return settings.ANALYTICS_STREAM
