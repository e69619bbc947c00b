"""Dashboard reads, all from the daily rollups (never the raw events), all scoped to one
vendor through `_rollups()`: no other function here touches PullRollup directly.

Dates are UTC days, both ends included. Every function returns plain dicts, ready for
the JSON API, the CSV export and the dashboard templates.
"""

import datetime
from dataclasses import dataclass

from django.db import connection
from django.db.models import Max, Sum
from django.utils import timezone

from analytics.models import PullRollup
from core.versions import tag_order_key, tag_version
from customers.models import Customer, Vendor
from licensing.selectors import customers_with_active_license, entitlement_get
from registry.models import Tag

PERIODS = (7, 30, 90)
MAX_RANGE_DAYS = 366
QUIET_DAYS = 30


@dataclass(frozen=True)
class DateRange:
    start: datetime.date
    end: datetime.date

    @property
    def days(self) -> list[datetime.date]:
        count = (self.end - self.start).days + 1
        return [self.start + datetime.timedelta(days=n) for n in range(count)]


def date_range(
    *,
    days: int | None = None,
    start: datetime.date | None = None,
    end: datetime.date | None = None,
    today: datetime.date | None = None,
) -> DateRange:
    """The last `days` days up to today (30 by default), or start..end; at most a year."""
    end = end or today or timezone.now().date()
    start = start or end - datetime.timedelta(days=(days or 30) - 1)
    if start > end:
        raise ValueError("the range starts after it ends")
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise ValueError(f"a range spans at most {MAX_RANGE_DAYS} days")
    return DateRange(start, end)


def _rollups(
    *,
    vendor: Vendor,
    period: DateRange | None = None,
    repository: str | None = None,
    customer_id: int | None = None,
):
    """The one place a vendor's rollups are read from."""
    rows = PullRollup.objects.filter(vendor_id=vendor.id)
    if period is not None:
        rows = rows.filter(day__gte=period.start, day__lte=period.end)
    if repository:
        rows = rows.filter(repository=repository)
    if customer_id is not None:
        rows = rows.filter(customer_id=customer_id)
    return rows


def pulls_per_day(
    *, vendor: Vendor, period: DateRange, repository: str | None = None
) -> list[dict]:
    """One row per day of the range (zero-filled): pulls that day."""
    counts = dict(
        _rollups(vendor=vendor, period=period, repository=repository)
        .values("day")
        .annotate(total=Sum("pulls"))
        .values_list("day", "total")
    )
    return [{"day": day, "pulls": counts.get(day, 0)} for day in period.days]


def top_customers(
    *, vendor: Vendor, period: DateRange, repository: str | None = None, limit: int = 10
) -> list[dict]:
    # Group by the id alone and name the few winners afterwards: joining the customer
    # table for every rollup row cost more than the aggregation (bench/analytics.py).
    rows = list(
        _rollups(vendor=vendor, period=period, repository=repository)
        .filter(customer__isnull=False)
        .values("customer_id")
        .annotate(total=Sum("pulls"), last=Max("day"))
        .order_by("-total", "customer_id")
    )
    names = dict(
        (c_id, (slug, name))
        for c_id, slug, name in Customer.objects.filter(
            vendor_id=vendor.id, id__in=[r["customer_id"] for r in rows]
        ).values_list("id", "slug", "name")
    )
    rows.sort(key=lambda r: (-r["total"], names.get(r["customer_id"], ("", ""))[0]))
    return [
        {
            "customer_id": r["customer_id"],
            "customer": names.get(r["customer_id"], ("", ""))[0],
            "customer_name": names.get(r["customer_id"], ("", ""))[1],
            "pulls": r["total"],
            "last_pull": r["last"],
        }
        for r in rows[:limit]
    ]


def top_repositories(*, vendor: Vendor, period: DateRange, limit: int = 10) -> list[dict]:
    rows = (
        _rollups(vendor=vendor, period=period)
        .values("repository")
        .annotate(total=Sum("pulls"))
        .order_by("-total", "repository")[:limit]
    )
    return [{"repository": r["repository"], "pulls": r["total"]} for r in rows]


def top_tags(
    *, vendor: Vendor, period: DateRange, repository: str | None = None, limit: int = 10
) -> list[dict]:
    rows = (
        _rollups(vendor=vendor, period=period, repository=repository)
        .exclude(tag="")
        .values("repository", "tag")
        .annotate(total=Sum("pulls"))
        .order_by("-total", "repository", "tag")[:limit]
    )
    return [{"repository": r["repository"], "tag": r["tag"], "pulls": r["total"]} for r in rows]


def version_adoption(
    *,
    vendor: Vendor,
    period: DateRange,
    repository: str | None = None,
    customer_id: int | None = None,
) -> list[dict]:
    """Per customer and repository: the newest tag the customer pulled in the range, the
    newest release the customer is licensed for, and how many such releases it is behind.

    Tags order by semantic version where they parse (packaging), by push time otherwise;
    a tag that parses outranks one that does not. "Latest" is the newest current tag of
    the repository that the customer's active licenses cover (licensing.selectors, the
    same answer the registry gives), ignoring pre-releases unless nothing else exists:
    a customer licensed for `1.*` is up to date on the newest 1.x, whatever 2.0 says.
    `behind` counts covered current tags newer than the customer's newest (None when that
    tag is gone); `latest_tag` is None when no license covers a current tag."""
    rows = (
        _rollups(vendor=vendor, period=period, repository=repository, customer_id=customer_id)
        .filter(customer__isnull=False)
        .exclude(tag="")
    )
    pairs = set(rows.values_list("repository", "tag").distinct())
    catalog = _current_tags({repo for repo, _ in pairs})
    # Order the few distinct tags here, then let the database keep each customer's newest
    # per repository: far fewer rows leave the database than one per customer and tag.
    order = {
        repo: _oldest_first([t for r, t in pairs if r == repo], catalog.get(repo, {}))
        for repo in {r for r, _ in pairs}
    }
    ordinal = {(repo, tag): i for repo, tags in order.items() for i, tag in enumerate(tags)}
    newest = _newest_per_customer(rows, ordinal)
    names = {
        pk: (slug, name)
        for pk, slug, name in Customer.objects.filter(
            vendor_id=vendor.id, id__in={c for c, _ in newest}
        ).values_list("id", "slug", "name")
    }
    result = []
    for (customer_id, repo), (position, last) in newest.items():
        tag = order[repo][position]
        pushed = catalog.get(repo, {})
        covered = entitlement_get(customer_id=customer_id, repository_name=repo).tags
        licensed = _releases_newest_first({t: pushed[t] for t in pushed if t in covered})
        slug, name = names.get(customer_id, ("", ""))
        result.append(
            {
                "customer_id": customer_id,
                "customer": slug,
                "customer_name": name,
                "repository": repo,
                "newest_tag": tag,
                "latest_tag": licensed[0] if licensed else None,
                "behind": None
                if tag not in pushed
                else sum(
                    1
                    for t in licensed
                    if tag_order_key(t, pushed[t]) > tag_order_key(tag, pushed[tag])
                ),
                "last_pull": last,
            }
        )
    result.sort(key=lambda r: (r["customer_name"], r["repository"]))
    return result


def _oldest_first(tags: list[str], pushed: dict[str, datetime.datetime]) -> list[str]:
    return sorted(tags, key=lambda t: tag_order_key(t, pushed.get(t)))


_VALUES_MAX = 5000  # (repository, tag) pairs passed to the database in one VALUES list


def _newest_per_customer(rows, ordinal: dict[tuple[str, str], int]) -> dict[tuple, tuple]:
    """(customer, repository) -> (ordinal of the newest tag pulled, last day pulled)."""
    if not ordinal:
        return {}
    if len(ordinal) > _VALUES_MAX:  # rare: too many tags to pass; group in Python instead
        newest: dict[tuple, tuple] = {}
        for customer_id, repo, tag, last in (
            rows.values("customer_id", "repository", "tag")
            .annotate(last=Max("day"))
            .values_list("customer_id", "repository", "tag", "last")
        ):
            position, latest_day = newest.get((customer_id, repo), (-1, last))
            newest[(customer_id, repo)] = (
                max(position, ordinal[(repo, tag)]),
                max(latest_day, last),
            )
        return newest
    sql, params = rows.values("customer_id", "repository", "tag", "day").query.sql_with_params()
    values = ", ".join(["(%s, %s, CAST(%s AS INTEGER))"] * len(ordinal))
    # Only placeholders and Django's own compiled SQL are formatted in.
    ranked = (
        f"WITH ranks(repository, tag, position) AS (VALUES {values}) "  # noqa: S608
        "SELECT r.customer_id, r.repository, MAX(k.position), MAX(r.day) "
        f"FROM ({sql}) r JOIN ranks k ON k.repository = r.repository AND k.tag = r.tag "
        "GROUP BY r.customer_id, r.repository"
    )
    flat = [value for (repo, tag), i in ordinal.items() for value in (repo, tag, i)]
    with connection.cursor() as cursor:
        cursor.execute(ranked, [*flat, *params])
        return {
            (customer_id, repo): (position, _as_date(last))
            for customer_id, repo, position, last in cursor.fetchall()
        }


def _as_date(value) -> datetime.date:
    return value if isinstance(value, datetime.date) else datetime.date.fromisoformat(value)


def _current_tags(repositories: set[str]) -> dict[str, dict[str, datetime.datetime]]:
    """repository -> {tag: last moved}; names are vendor-namespaced, so this stays within
    the vendor whose rollups named them."""
    catalog: dict[str, dict[str, datetime.datetime]] = {}
    for repo, tag, updated in Tag.objects.filter(repository__name__in=repositories).values_list(
        "repository__name", "name", "updated_at"
    ):
        catalog.setdefault(repo, {})[tag] = updated
    return catalog


def _releases_newest_first(tags: dict[str, datetime.datetime]) -> list[str]:
    ordered = sorted(tags, key=lambda t: tag_order_key(t, tags[t]), reverse=True)
    final = [
        t for t in ordered if not ((v := tag_version(t)) and (v.is_prerelease or v.is_devrelease))
    ]
    return final or ordered


def customers_gone_quiet(
    *, vendor: Vendor, quiet_days: int = QUIET_DAYS, today: datetime.date | None = None
) -> list[dict]:
    """Customers with an active license and no pull in the last `quiet_days` days."""
    today = today or timezone.now().date()
    licensed = customers_with_active_license(vendor_id=vendor.id, today=today)
    if not licensed:
        return []
    since = today - datetime.timedelta(days=quiet_days - 1)
    # Who pulled recently (an index range on vendor and day), then the last pull of the
    # few who did not: cheaper than every customer's last pull over all time.
    recent = set(
        _rollups(vendor=vendor)
        .filter(day__gte=since, customer_id__in=licensed)
        .values_list("customer_id", flat=True)
        .distinct()
    )
    quiet = [cid for cid in licensed if cid not in recent]
    last_pulls = dict(
        _rollups(vendor=vendor)
        .filter(customer_id__in=quiet)
        .values("customer_id")
        .annotate(last=Max("day"))
        .values_list("customer_id", "last")
    )
    customers = Customer.objects.filter(vendor_id=vendor.id, id__in=quiet).order_by("slug")
    return [
        {
            "customer_id": c.id,
            "customer": c.slug,
            "customer_name": c.name,
            "last_pull": last_pulls.get(c.id),
            "licenses": licensed[c.id],
        }
        for c in customers
    ]


def customer_history(
    *, vendor: Vendor, customer_id: int, period: DateRange, repository: str | None = None
) -> list[dict]:
    """A customer's pulls per day, repository and tag (newest day first)."""
    rows = (
        _rollups(vendor=vendor, period=period, repository=repository, customer_id=customer_id)
        .values("day", "repository", "tag")
        .annotate(total=Sum("pulls"))
        .order_by("-day", "repository", "tag")
    )
    return [
        {"day": r["day"], "repository": r["repository"], "tag": r["tag"], "pulls": r["total"]}
        for r in rows
    ]


DAILY_ROLLUP_COLUMNS = [
    "day",
    "customer",
    "repository",
    "tag",
    "digest",
    "pulls",
    "distinct_tokens",
    "distinct_addresses",
]


def daily_rollups(
    *, vendor: Vendor, period: DateRange, repository: str | None = None
) -> list[dict]:
    """The daily rollups themselves, one row per customer, repository, tag and digest
    (`manage.py pullreport`), keyed by DAILY_ROLLUP_COLUMNS. Distinct counts are per row:
    they do not add up across rows."""
    fields = ["customer__slug" if c == "customer" else c for c in DAILY_ROLLUP_COLUMNS]
    rows = (
        _rollups(vendor=vendor, period=period, repository=repository)
        .values(*fields)
        .order_by("day", "customer__slug", "repository", "tag", "digest")
    )
    return [
        dict(zip(DAILY_ROLLUP_COLUMNS, (r[f] for f in fields), strict=True))
        | {"customer": r["customer__slug"] or ""}
        for r in rows
    ]


def customer_by_slug(*, vendor: Vendor, slug: str) -> Customer | None:
    return Customer.objects.filter(vendor_id=vendor.id, slug=slug).first()


def tags_last_pulled(*, vendor: Vendor, repository: str) -> dict[str, datetime.date]:
    """Each tag's last day with a pull in `repository` (from the daily rollups; storage
    lifecycle's "not pulled for D days" rule reads it)."""
    return dict(
        _rollups(vendor=vendor, repository=repository)
        .exclude(tag="")
        .values("tag")
        .annotate(last=Max("day"))
        .values_list("tag", "last")
    )


def last_pull_days(*, vendor: Vendor) -> dict[tuple[str, str], datetime.date]:
    """The last UTC day each (repository, tag) and each (repository, digest) was pulled,
    from the daily rollups: a tag pulled by name, or its manifest pulled by digest."""
    last: dict[tuple[str, str], datetime.date] = {}
    rows = (
        PullRollup.objects.filter(vendor=vendor)
        .values("repository", "tag", "digest")
        .annotate(last=Max("day"))
        .order_by()
    )
    for r in rows:
        for key in ((r["repository"], r["tag"]), (r["repository"], r["digest"])):
            if key[1] and (key not in last or last[key] < r["last"]):
                last[key] = r["last"]
    return last
