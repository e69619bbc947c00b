"""Server-side SVG charts: well-formed, accessible, readable labels, escaped text."""

import datetime
import xml.etree.ElementTree as ET

from analytics.charts import bar_chart, line_chart, nice_ticks

SVG = "{http://www.w3.org/2000/svg}"


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 - our own output, parsed to check its shape


def test_nice_ticks():
    assert nice_ticks(0) == [0, 1]
    assert nice_ticks(7) == [0, 2, 4, 6, 8]
    assert nice_ticks(100) == [0, 50, 100]
    assert nice_ticks(1234)[-1] >= 1234


def test_line_chart_is_accessible_and_labelled():
    start = datetime.date(2026, 3, 1)
    points = [(start + datetime.timedelta(days=i), v) for i, v in enumerate([3, 0, 12, 5])]
    root = _parse(line_chart(points, title="Pulls per day", unit="pulls"))
    assert root.get("role") == "img" and root.get("aria-label") == "Pulls per day"
    assert root.find(f"{SVG}title").text == "Pulls per day"
    desc = root.find(f"{SVG}desc").text
    assert "total 20" in desc and "highest 12 on Mar 3" in desc
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "pulls" in texts  # the unit
    assert {"Mar 1", "Mar 4"} <= set(texts)  # readable day labels
    assert "12" in texts or "15" in texts  # a y tick at or above the maximum
    assert len(list(root.iter(f"{SVG}circle"))) == 4
    assert "<script" not in line_chart(points, title="t", unit="u")


def test_many_days_do_not_crowd_the_axis():
    start = datetime.date(2026, 1, 1)
    points = [(start + datetime.timedelta(days=i), i) for i in range(90)]
    root = _parse(line_chart(points, title="90 days", unit="pulls"))
    day_labels = [t for t in root.iter(f"{SVG}text") if t.get("text-anchor") == "middle"]
    assert 2 <= len(day_labels) <= 9


def test_bar_chart_escapes_labels_and_states_values():
    svg = bar_chart([("<globex>", 4), ("initech & co", 3)], title="Top customers", unit="pulls")
    root = _parse(svg)
    assert root.find(f"{SVG}desc").text == "<globex>: 4 pulls; initech & co: 3 pulls"
    assert len(list(root.iter(f"{SVG}rect"))) == 2
    assert "<globex>" not in svg  # escaped


def test_empty_data_renders():
    assert _parse(line_chart([], title="x", unit="pulls")).find(f"{SVG}desc").text == "No data."
    assert _parse(bar_chart([], title="x", unit="pulls")).find(f"{SVG}desc").text == "No data."
