"""Dashboard queries: exact numbers from the rollups, scoped to one vendor."""

import datetime

from django.utils import timezone

from analytics import selectors as queries
from core.versions import tag_order_key


def _today():
    return timezone.now().date()


def _days_ago(n: int) -> datetime.date:
    return _today() - datetime.timedelta(days=n)


def test_pulls_per_day_is_zero_filled(embedded_mode, history, vendor):
    rows = queries.pulls_per_day(vendor=vendor, period=queries.date_range(days=7))
    assert len(rows) == 7
    assert {r["day"]: r["pulls"] for r in rows if r["pulls"]} == {_days_ago(2): 3, _today(): 1}
    assert rows[0]["day"] == _days_ago(6) and rows[-1]["day"] == _today()


def test_pulls_per_day_filters_by_repository_and_range(embedded_mode, history, vendor):
    period = queries.date_range(start=_days_ago(45), end=_days_ago(30))
    rows = queries.pulls_per_day(vendor=vendor, period=period, repository="acme/app")
    assert {r["day"]: r["pulls"] for r in rows if r["pulls"]} == {
        _days_ago(40): 2,
        _days_ago(35): 1,
    }
    assert (
        queries.pulls_per_day(vendor=vendor, period=period, repository="acme/none")[0]["pulls"] == 0
    )


def test_top_customers_repositories_and_tags(embedded_mode, history, vendor):
    last30, last90 = queries.date_range(days=30), queries.date_range(days=90)
    assert [
        (r["customer"], r["pulls"]) for r in queries.top_customers(vendor=vendor, period=last30)
    ] == [("globex", 4)]
    top90 = queries.top_customers(vendor=vendor, period=last90)
    assert [(r["customer"], r["pulls"], r["last_pull"]) for r in top90] == [
        ("globex", 4, _today()),
        ("initech", 3, _days_ago(35)),
    ]
    assert queries.top_repositories(vendor=vendor, period=last90) == [
        {"repository": "acme/app", "pulls": 7}
    ]
    assert queries.top_tags(vendor=vendor, period=last90) == [
        {"repository": "acme/app", "tag": "1.0", "pulls": 5},
        {"repository": "acme/app", "tag": "1.1", "pulls": 1},
        {"repository": "acme/app", "tag": "2.0", "pulls": 1},
    ]
    assert queries.top_tags(vendor=vendor, period=last90, limit=1)[0]["tag"] == "1.0"


def test_version_adoption_says_who_is_behind(embedded_mode, history, vendor):
    rows = queries.version_adoption(vendor=vendor, period=queries.date_range(days=90))
    assert [(r["customer"], r["newest_tag"], r["latest_tag"], r["behind"]) for r in rows] == [
        ("globex", "2.0", "2.0", 0),
        ("initech", "1.1", "2.0", 1),
    ]


def test_customers_gone_quiet(embedded_mode, history, vendor):
    rows = queries.customers_gone_quiet(vendor=vendor)
    assert [(r["customer"], r["last_pull"]) for r in rows] == [
        ("hooli", None),
        ("initech", _days_ago(35)),
    ]
    assert rows[0]["licenses"] == ["Test license"]
    assert [r["customer"] for r in queries.customers_gone_quiet(vendor=vendor, quiet_days=60)] == [
        "hooli"
    ]


def test_suspended_or_expired_licenses_are_not_quiet_customers(embedded_mode, history, vendor):
    from licensing.models import License

    License.objects.filter(customer=history["hooli"]).update(status=License.Status.SUSPENDED)
    License.objects.filter(customer=history["initech"]).update(valid_until=_days_ago(1))
    assert queries.customers_gone_quiet(vendor=vendor) == []


def test_customer_history_and_daily_rollups(embedded_mode, history, vendor):
    globex = history["globex"]
    rows = queries.customer_history(
        vendor=vendor, customer_id=globex.id, period=queries.date_range(days=90)
    )
    assert [(r["day"], r["tag"], r["pulls"]) for r in rows] == [
        (_today(), "2.0", 1),
        (_days_ago(2), "1.0", 3),
    ]
    rollups = queries.daily_rollups(vendor=vendor, period=queries.date_range(days=90))
    assert [
        (r["day"], r["customer"], r["tag"], r["pulls"], r["distinct_tokens"]) for r in rollups
    ] == [
        (_days_ago(40), "initech", "1.0", 2, 1),
        (_days_ago(35), "initech", "1.1", 1, 1),
        (_days_ago(2), "globex", "1.0", 3, 1),
        (_today(), "globex", "2.0", 1, 1),
    ]


def test_every_query_is_scoped_to_the_vendor(embedded_mode, history):
    umbrella, period = history["umbrella"], queries.date_range(days=90)
    assert [r["customer"] for r in queries.top_customers(vendor=umbrella, period=period)] == [
        "wesker"
    ]
    assert [r["repository"] for r in queries.top_repositories(vendor=umbrella, period=period)] == [
        "umbrella/tool"
    ]
    assert sum(r["pulls"] for r in queries.pulls_per_day(vendor=umbrella, period=period)) == 5
    assert queries.customers_gone_quiet(vendor=umbrella) == []
    assert (
        queries.customer_history(vendor=umbrella, customer_id=history["globex"].id, period=period)
        == []
    )
    assert {r["customer"] for r in queries.daily_rollups(vendor=umbrella, period=period)} == {
        "wesker"
    }


def test_tag_order_uses_semver_then_push_order():
    early = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
    late = datetime.datetime(2024, 6, 1, tzinfo=datetime.UTC)
    ordered = sorted(
        ["1.9", "1.10", "v2.0.0", "1.9.9", "main", "latest"],
        key=lambda t: tag_order_key(t, late if t == "main" else early),
    )
    assert ordered == ["latest", "main", "1.9", "1.9.9", "1.10", "v2.0.0"]


def test_date_range_limits():
    import pytest

    with pytest.raises(ValueError):
        queries.date_range(start=_today(), end=_days_ago(1))
    with pytest.raises(ValueError):
        queries.date_range(days=400)


def test_version_adoption_is_the_same_when_tags_are_grouped_in_python(
    embedded_mode, history, vendor, monkeypatch
):
    """Past _VALUES_MAX distinct tags the ranking falls back to Python: same answer."""
    period = queries.date_range(days=90)
    in_database = queries.version_adoption(vendor=vendor, period=period)
    monkeypatch.setattr(queries, "_VALUES_MAX", 0)
    assert queries.version_adoption(vendor=vendor, period=period) == in_database
    assert [r["newest_tag"] for r in in_database] == ["2.0", "1.1"]


def test_version_adoption_is_measured_against_the_newest_licensed_release(
    embedded_mode, client, vendor, customer, other_customer
):
    """Licensed for 1.* only: on 1.1 is up to date (2.0 is not theirs), on 1.0 is one
    behind 1.1. Customers are named, not slugged."""
    from tests.analytics.conftest import push_image, store_pulls
    from tests.conftest import license_grant

    for tag in ("1.0", "1.1", "2.0"):
        push_image(client, "acme/app", tag)
    license_grant(customer, "acme/app", tag_rule="glob:1.*")
    license_grant(other_customer, "acme/app", tag_rule="glob:1.*")
    store_pulls(customer, "acme/app", "1.1", days_ago=1, count=1)
    store_pulls(other_customer, "acme/app", "1.0", days_ago=1, count=1)
    rows = queries.version_adoption(vendor=vendor, period=queries.date_range(days=7))
    assert [(r["customer"], r["newest_tag"], r["latest_tag"], r["behind"]) for r in rows] == [
        ("globex", "1.1", "1.1", 0),
        ("initech", "1.0", "1.1", 1),
    ]
    assert [r["customer_name"] for r in rows] == ["Globex", "Initech"]
