"""Server-side SVG charts for the dashboards: no JavaScript, no CDN, readable axes.

`line_chart([(day, value), …], title=…, unit=…)` and `bar_chart([(label, value), …], …)`
return inline SVG (every text escaped, so the result is marked safe for templates). Each
chart has role="img", an aria-label, a <title> and a <desc> that states the data in words,
so screen readers get the numbers the picture shows.
"""

import datetime
import math
from html import escape

from django.utils.safestring import SafeString, mark_safe

_FONT = 'font-family="system-ui, sans-serif" font-size="12" fill="currentColor"'
_LEFT, _RIGHT, _TOP, _BOTTOM = 56, 16, 28, 44


def nice_ticks(maximum: float, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least `maximum` (1, 2 or 5 times a power of ten)."""
    if maximum <= 0:
        return [0, 1]
    raw = maximum / max(1, count - 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    top = math.ceil(maximum / step) * step
    return [round(i * step, 10) for i in range(int(round(top / step)) + 1)]


def _number(value: float) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:g}M"
    if value >= 10_000:
        return f"{value / 1_000:g}k"
    return f"{value:g}"


def _label(value) -> str:
    if isinstance(value, datetime.date):
        return value.strftime("%b %d").replace(" 0", " ")  # "Mar 5"
    return str(value)


def _frame(width: int, height: int, title: str, desc: str, body: list[str]) -> SafeString:
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}" '
        f'class="distr-chart">'
        f"<title>{escape(title)}</title><desc>{escape(desc)}</desc>" + "".join(body) + "</svg>"
    )
    return mark_safe(svg)  # noqa: S308 - every text above went through escape()


def _y_axis(ticks: list[float], plot_h: float, width: int, unit: str) -> list[str]:
    parts = []
    top = ticks[-1]
    for tick in ticks:
        y = _TOP + plot_h - (tick / top) * plot_h
        parts.append(
            f'<line x1="{_LEFT}" x2="{width - _RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="currentColor" stroke-opacity="0.15"/>'
            f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" {_FONT}>'
            f"{escape(_number(tick))}</text>"
        )
    parts.append(f'<text x="{_LEFT}" y="{_TOP - 10}" {_FONT}>{escape(unit)}</text>')
    return parts


def _x_labels(labels: list[str], xs: list[float], height: int) -> list[str]:
    every = max(1, math.ceil(len(labels) / 8))  # at most ~8 labels: no overlap
    return [
        f'<text x="{x:.1f}" y="{height - _BOTTOM + 18}" text-anchor="middle" {_FONT}>'
        f"{escape(label)}</text>"
        for i, (label, x) in enumerate(zip(labels, xs, strict=True))
        if i % every == 0 or i == len(labels) - 1 and len(labels) <= 8
    ]


def line_chart(
    points: list[tuple], *, title: str, unit: str, width: int = 640, height: int = 240
) -> SafeString:
    """A line over ordered points (x label or date, value)."""
    plot_w, plot_h = width - _LEFT - _RIGHT, height - _TOP - _BOTTOM
    values = [float(v) for _, v in points]
    ticks = nice_ticks(max(values, default=0))
    n = len(points)
    xs = [_LEFT + (plot_w * i / (n - 1) if n > 1 else plot_w / 2) for i in range(n)]
    ys = [_TOP + plot_h - (v / ticks[-1]) * plot_h for v in values]
    labels = [_label(x) for x, _ in points]
    body = _y_axis(ticks, plot_h, width, unit)
    if points:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys, strict=True))
        body.append(
            f'<polyline points="{path}" fill="none" stroke="currentColor" stroke-width="2"/>'
        )
        body += [
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="currentColor">'
            f"<title>{escape(label)}: {escape(_number(v))} {escape(unit)}</title></circle>"
            for x, y, label, v in zip(xs, ys, labels, values, strict=True)
        ]
    body += _x_labels(labels, xs, height)
    total = sum(values)
    desc = (
        f"{unit} from {labels[0]} to {labels[-1]}: total {_number(total)}, "
        f"highest {_number(max(values))} on {labels[values.index(max(values))]}."
        if points
        else "No data."
    )
    return _frame(width, height, title, desc, body)


def bar_chart(
    items: list[tuple], *, title: str, unit: str, width: int = 640, height: int = 240
) -> SafeString:
    """Vertical bars, one per (label, value), in the order given."""
    plot_w, plot_h = width - _LEFT - _RIGHT, height - _TOP - _BOTTOM
    values = [float(v) for _, v in items]
    ticks = nice_ticks(max(values, default=0))
    n = max(1, len(items))
    slot = plot_w / n
    labels = [_label(label) for label, _ in items]
    body = _y_axis(ticks, plot_h, width, unit)
    xs = []
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        bar_h = (value / ticks[-1]) * plot_h
        x = _LEFT + i * slot + slot * 0.15
        xs.append(x + slot * 0.35)
        body.append(
            f'<rect x="{x:.1f}" y="{_TOP + plot_h - bar_h:.1f}" width="{slot * 0.7:.1f}" '
            f'height="{bar_h:.1f}" fill="currentColor" fill-opacity="0.7">'
            f"<title>{escape(label)}: {escape(_number(value))} {escape(unit)}</title></rect>"
        )
    body += _x_labels(labels, xs, height)
    desc = (
        "; ".join(f"{label}: {_number(v)} {unit}" for label, v in zip(labels, values, strict=True))
        if items
        else "No data."
    )
    return _frame(width, height, title, desc, body)
