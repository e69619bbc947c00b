"""The analytics pages of the portal: the vendor dashboard (charts, tables, filters, CSV),
the per-customer page, and a customer's own pull history, over the `history` fixture's
exact rollups (tests/analytics/conftest.py)."""

import csv
import io

from tests.portal.conftest import customer_user, sign_in, staff_user


def _rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_dashboard_shows_the_numbers_and_charts(embedded_mode, history, vendor):
    viewer = sign_in(staff_user(vendor, "viewer@acme.test", "viewer"), vendor)
    page = viewer.get("/p/acme/console/analytics/?days=90")
    body = page.content.decode()
    assert page.status_code == 200
    assert "<strong>7</strong> pulls" in body  # 4 globex + 3 initech, umbrella excluded
    assert body.count('role="img"') == 2  # pulls over time, pulls by customer
    assert "Pulls per day" in body and "total 7" in body  # the chart's <desc>
    assert "wesker" not in body and "umbrella/tool" not in body
    # version adoption: initech is one release behind, globex up to date
    assert "1 behind" in body and "up to date" in body
    # gone quiet: hooli never pulled, initech last pulled 35 days ago
    quiet = body[body.index("Customers gone quiet") :]
    assert "Hooli" in quiet and "Initech" in quiet and "Globex" not in quiet

    last7 = viewer.get("/p/acme/console/analytics/?days=7").content.decode()
    assert "<strong>4</strong> pulls" in last7


def test_dashboard_filters_and_bad_dates(embedded_mode, history, vendor):
    admin = sign_in(staff_user(vendor, "admin@acme.test"), vendor)
    body = admin.get("/p/acme/console/analytics/?days=90&repository=acme/none").content.decode()
    assert "<strong>0</strong> pulls" in body
    bad = admin.get("/p/acme/console/analytics/?start=2026-05-01&end=2026-04-01")
    assert bad.status_code == 400 and "starts after it ends" in bad.content.decode()
    garbage = admin.get("/p/acme/console/analytics/?start=yesterday")
    assert garbage.status_code == 400


def test_csv_exports(embedded_mode, history, vendor):
    admin = sign_in(staff_user(vendor, "admin@acme.test"), vendor)
    response = admin.get("/p/acme/console/analytics/export/top-customers.csv?days=90")
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = _rows(response)
    assert rows[0][:4] == ["customer_id", "customer", "customer_name", "pulls"]
    assert [(r[1], r[3]) for r in rows[1:]] == [("globex", "4"), ("initech", "3")]
    daily = _rows(admin.get("/p/acme/console/analytics/export/pulls-per-day.csv?days=7"))
    assert len(daily) == 8 and sum(int(r[1]) for r in daily[1:]) == 4
    assert admin.get("/p/acme/console/analytics/export/secrets.csv").status_code == 404


def test_customer_page_and_its_csv(embedded_mode, history, vendor):
    admin = sign_in(staff_user(vendor, "admin@acme.test"), vendor)
    body = admin.get("/p/acme/console/analytics/customers/initech/?days=90").content.decode()
    assert "<strong>3</strong> pulls" in body and "1.1" in body
    rows = _rows(admin.get("/p/acme/console/analytics/customers/initech/?days=90&format=csv"))
    assert sorted((r[2], r[3]) for r in rows[1:]) == [("1.0", "2"), ("1.1", "1")]
    assert admin.get("/p/acme/console/analytics/customers/wesker/").status_code == 404


def test_customers_see_only_their_own_history(embedded_mode, history, vendor):
    user = sign_in(customer_user(history["initech"], "ops@initech.test"), vendor)
    body = user.get("/p/acme/history/?days=90").content.decode()
    assert "<strong>3</strong> pulls by Initech" in body
    assert "Globex" not in body
    assert user.get("/p/acme/console/analytics/").status_code == 302  # customers go home


def test_other_vendors_staff_see_nothing(embedded_mode, history, vendor):
    umbrella_staff = sign_in(
        staff_user(history["umbrella"], "boss@umbrella.test"), history["umbrella"]
    )
    body = umbrella_staff.get("/p/umbrella/console/analytics/?days=90").content.decode()
    assert "<strong>5</strong> pulls" in body and "globex" not in body.lower()
    assert umbrella_staff.get("/p/acme/console/analytics/").status_code == 302  # not signed in


def test_pages_read_the_snapshot_the_worker_refreshes(embedded_mode, history, vendor):
    from analytics.dashboard import dashboards_refresh
    from analytics.models import PullRollup

    # Vendors with pulls since yesterday get 7/30/90-day snapshots (acme and umbrella).
    assert dashboards_refresh() == 6
    PullRollup.objects.filter(vendor=vendor).update(pulls=100)  # ingestion moves on…
    admin = sign_in(staff_user(vendor, "admin@acme.test"), vendor)
    body = admin.get("/p/acme/console/analytics/?days=7").content.decode()
    assert "<strong>4</strong> pulls" in body  # …the page shows the snapshot until refresh
    assert dashboards_refresh() == 6
    body = admin.get("/p/acme/console/analytics/?days=7").content.decode()
    assert "<strong>200</strong> pulls" in body  # two rollup rows in the last 7 days
