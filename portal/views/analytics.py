"""Pull analytics pages: the vendor's dashboard, a page per customer, CSV exports, and a
customer's own pull history. Numbers come from analytics.selectors (daily rollups), charts
from analytics.charts (server-side SVG)."""

import datetime

from django.http import Http404, HttpResponse
from django.shortcuts import render

from analytics import selectors as queries
from analytics.charts import bar_chart, line_chart
from analytics.dashboard import dashboard_get
from analytics.exports import rows_to_csv
from licensing.selectors import running_versions_by_customer
from portal import selectors
from portal.views.access import customer_page, staff_page

TABLES = {
    "pulls-per-day": lambda v, p, r: queries.pulls_per_day(vendor=v, period=p, repository=r),
    "top-customers": lambda v, p, r: queries.top_customers(
        vendor=v, period=p, repository=r, limit=100
    ),
    "top-repositories": lambda v, p, r: queries.top_repositories(vendor=v, period=p, limit=100),
    "top-tags": lambda v, p, r: queries.top_tags(vendor=v, period=p, repository=r, limit=100),
    "version-adoption": lambda v, p, r: with_running_versions(
        queries.version_adoption(vendor=v, period=p, repository=r), vendor=v, period=p
    ),
    "quiet-customers": lambda v, p, r: queries.customers_gone_quiet(vendor=v),
}


def _filters(request) -> tuple[queries.DateRange | None, str, dict, str]:
    """(period, repository, form values, error) from the query string."""
    values = {
        "days": request.GET.get("days", "30"),
        "start": request.GET.get("start", ""),
        "end": request.GET.get("end", ""),
        "repository": request.GET.get("repository", ""),
    }
    try:
        if values["start"] or values["end"]:
            end = datetime.date.fromisoformat(values["end"]) if values["end"] else None
            start = datetime.date.fromisoformat(values["start"]) if values["start"] else None
            if start is None:
                raise ValueError("choose a start date")
            period = queries.date_range(start=start, end=end)
        else:
            days = int(values["days"]) if values["days"].isdigit() else 30
            if days not in queries.PERIODS:
                days = 30
            values["days"] = str(days)
            period = queries.date_range(days=days)
    except ValueError as exc:
        return None, values["repository"], values, str(exc).capitalize() + "."
    return period, values["repository"], values, ""


TABLE_ROWS = 50


def _most_behind_first(row: dict):
    behind = row["behind"]
    return (behind is None, -(behind or 0), row["customer_name"], row["repository"])


def with_running_versions(rows: list[dict], *, vendor, period) -> list[dict]:
    """Adoption rows with what the customer's instances report running in the period
    (license check-ins, docs/license-keys.md): "1.4.0 ×3, 1.3.2", or "" where none report.
    Analytics knows pulls only; licensing knows instances; the page shows both."""
    since = datetime.datetime.combine(period.start, datetime.time.min, tzinfo=datetime.UTC)
    running = running_versions_by_customer(vendor_id=vendor.pk, since=since)
    return [
        {
            **row,
            "running": ", ".join(
                f"{version} ×{n}" if n > 1 else version
                for version, n in running.get(row.get("customer"), {}).items()
            ),
        }
        for row in rows
    ]


def _daily_chart(rows, title):
    return line_chart([(r["day"], r["pulls"]) for r in rows], title=title, unit="pulls")


@staff_page
def dashboard(request):
    period, repository, values, error = _filters(request)
    context = {
        "values": values,
        "error": error,
        "periods": queries.PERIODS,
        "repositories": selectors.repository_list(vendor=request.vendor).values_list(
            "name", flat=True
        ),
        "query": request.GET.urlencode(),
    }
    if period is not None:
        data = dashboard_get(vendor=request.vendor, period=period, repository=repository)
        context.update(
            data,
            period=period,
            total=sum(r["pulls"] for r in data["daily"]),
            daily_chart=_daily_chart(
                data["daily"], f"Pulls per day, {period.start:%d %b} to {period.end:%d %b %Y}"
            ),
            customers_chart=bar_chart(
                [(r["customer_name"], r["pulls"]) for r in data["top_customers"]],
                title="Pulls by customer (top 10)",
                unit="pulls",
            ),
            quiet_days=queries.QUIET_DAYS,
            # Long tables show their first rows (most behind first); CSV has all of them.
            adoption=with_running_versions(
                sorted(data["adoption"], key=_most_behind_first)[:TABLE_ROWS],
                vendor=request.vendor,
                period=period,
            ),
            adoption_count=len(data["adoption"]),
            quiet=data["quiet"][:TABLE_ROWS],
            quiet_count=len(data["quiet"]),
            table_rows=TABLE_ROWS,
        )
    return render(request, "console/analytics.html", context, status=400 if error else 200)


@staff_page
def export(request, table: str):
    if table not in TABLES:
        raise Http404("no such table")
    period, repository, _, error = _filters(request)
    if period is None:
        return HttpResponse(error, status=400, content_type="text/plain; charset=utf-8")
    rows = TABLES[table](request.vendor, period, repository or None)
    response = HttpResponse(rows_to_csv(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="{request.vendor.slug}-{table}-{period.start}-{period.end}.csv"'
    )
    return response


def _history(vendor, customer, period, repository):
    rows = queries.customer_history(
        vendor=vendor, customer_id=customer.id, period=period, repository=repository or None
    )
    per_day = {}
    for row in rows:
        per_day[row["day"]] = per_day.get(row["day"], 0) + row["pulls"]
    daily = [{"day": day, "pulls": per_day.get(day, 0)} for day in period.days]
    return rows, daily


@staff_page
def customer_dashboard(request, slug: str):
    customer = queries.customer_by_slug(vendor=request.vendor, slug=slug)
    if customer is None:
        raise Http404("no such customer")
    period, repository, values, error = _filters(request)
    context = {"customer": customer, "values": values, "error": error, "periods": queries.PERIODS}
    if period is not None:
        rows, daily = _history(request.vendor, customer, period, repository)
        if request.GET.get("format") == "csv":
            response = HttpResponse(rows_to_csv(rows), content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="{slug}-pulls.csv"'
            return response
        adoption = with_running_versions(
            queries.version_adoption(vendor=request.vendor, period=period, customer_id=customer.id),
            vendor=request.vendor,
            period=period,
        )
        context.update(
            period=period,
            rows=rows,
            total=sum(r["pulls"] for r in daily),
            chart=_daily_chart(daily, f"Pulls per day by {customer.name}"),
            adoption=adoption,
            query=request.GET.urlencode(),
        )
    return render(request, "console/analytics_customer.html", context, status=400 if error else 200)


@customer_page
def history(request):
    """A customer's own pulls (all its tokens), from the same rollups."""
    customer = request.portal.customer
    period, repository, values, error = _filters(request)
    context = {"values": values, "error": error, "periods": queries.PERIODS}
    if period is not None:
        rows, daily = _history(request.vendor, customer, period, repository)
        context.update(
            period=period,
            rows=rows,
            total=sum(r["pulls"] for r in daily),
            chart=_daily_chart(daily, "Your pulls per day"),
        )
    return render(request, "portal/history.html", context, status=400 if error else 200)
