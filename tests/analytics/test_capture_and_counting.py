"""Capture on manifest GET and the counting rule (one `docker pull` is one pull)."""

import datetime

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


def test_head_and_failed_gets_record_nothing(embedded_mode, licensed, customer):
    client = pull_client(customer)
    _pull(client, "1.0", method="head")
    assert client.get("/v2/acme/app/manifests/9.9").status_code in (403, 404)
    assert PullEventOutbox.objects.count() == 0
    assert PullEvent.objects.count() == 0


def test_index_pull_with_its_platform_manifest_is_one_pull(embedded_mode, licensed, customer):
    client = pull_client(customer)
    _pull(client, "2.0")  # the index, by tag
    for child in licensed["2.0-children"]:  # what `skopeo copy --all` fetches next
        _pull(client, child)
    ingest_pass()
    assert PullEvent.objects.count() == 3
    assert PullEvent.objects.filter(counted=True).count() == 1
    children = PullEvent.objects.filter(counted=False)
    assert {e.digest for e in children} == set(licensed["2.0-children"])
    rollup = PullRollup.objects.get()
    assert (rollup.tag, rollup.digest, rollup.pulls) == ("2.0", licensed["2.0"], 1)


def test_index_pulled_by_digest_counts_once_and_names_its_tag(embedded_mode, licensed, customer):
    client = pull_client(customer)
    _pull(client, licensed["2.0"])
    _pull(client, licensed["2.0-children"][0])
    ingest_pass()
    rollup = PullRollup.objects.get()
    assert (rollup.tag, rollup.pulls) == ("2.0", 1)
    assert PullEvent.objects.get(counted=True).reference == licensed["2.0"]


def test_image_pulled_by_digest_counts_under_its_tag(embedded_mode, licensed, customer):
    _pull(pull_client(customer), licensed["1.1"])
    ingest_pass()
    rollup = PullRollup.objects.get()
    assert (rollup.tag, rollup.digest, rollup.pulls) == ("1.1", licensed["1.1"], 1)


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
    assert sorted(PullRollup.objects.values_list("tag", "pulls")) == [("1.0", 1), ("2.0", 1)]
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
