"""Charts of the dashboard, drawn on the server as inline SVG: no JavaScript library, nothing from a CDN.

Each function returns a safe HTML string holding one ``<svg role="img">`` with a ``<title>`` and a ``<desc>`` (read
by screen readers), a text label on every bar or point (so that the chart reads in black and white too), and dark
colours that print. The SVG scales to the width of its container (``viewBox`` and ``width="100%"``).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.utils.formats import number_format
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

BAR = "#1f4e79"  # dark blue: prints as a dark grey
SECOND = "#a61b1b"  # the app's red: the "held" bars next to the blue "due" ones
GRID = "#adb5bd"
TEXT = "#212529"
MUTED = "#6c757d"


@dataclass(frozen=True)
class Bar:
    label: str
    value: Decimal | float | int | None  # None: nothing to show (e.g. nobody eligible)
    href: str = ""
    hint: str = ""  # the full text of the tooltip (defaults to the label and the value)


def _number(value) -> str:
    """A value as the page writes it, in the active language: 99.3 -> "99,3" in Vietnamese, 12 -> "12"."""
    if value is None:
        return "–"
    if isinstance(value, int):
        return str(value)
    return number_format(value, 1)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _svg(
    *, width: int, height: int, title: str, desc: str, body: list[str], chart_id: str, wide: bool = False
) -> SafeString:
    """The ``<svg>`` element, in a box that scrolls sideways on a narrow phone (never the page) rather than shrinking
    the text below reading size. Font and minimum width (600 px when ``wide``, else 360 px) come from classes in
    static/css/dashboard.css: the Content-Security-Policy allows no style attribute."""
    title_id, desc_id = f"{chart_id}-title", f"{chart_id}-desc"
    return mark_safe(  # noqa: S308 - every text piece below is escaped
        # The box scrolls sideways on a narrow phone: it takes the keyboard focus so that it can be scrolled without a
        # mouse (axe's scrollable-region-focusable), and is named by the chart's title.
        f'<div class="app-chart-box" tabindex="0" role="group" aria-labelledby="{escape(title_id)}">'
        f'<svg xmlns="http://www.w3.org/2000/svg" class="app-chart{" app-chart-wide" if wide else ""}" '
        # A chart whose bars are links is a group of links, not an image: an image's content is hidden from screen
        # readers, and its links with it (axe's nested-interactive).
        f'id="{escape(chart_id)}" role="{"group" if any("<a " in piece for piece in body) else "img"}" '
        f'viewBox="0 0 {width} {height}" width="100%" preserveAspectRatio="xMinYMin meet" '
        f'aria-labelledby="{escape(title_id)} {escape(desc_id)}">'
        f'<title id="{escape(title_id)}">{escape(title)}</title><desc id="{escape(desc_id)}">{escape(desc)}</desc>'
        + "".join(body)
        + "</svg></div>"
    )


def _linked(href: str, inner: str) -> str:
    return f'<a href="{escape(href)}">{inner}</a>' if href else inner


def percent_bars(bars: Sequence[Bar], *, title: str, desc: str, empty: str, chart_id: str = "chart-rate") -> SafeString:
    """Horizontal bars of percentages (0-100), one row per item, the label on the left, the value at the bar's end;
    a bar with an ``href`` is a link."""
    row, label_width, bar_width, top = 22, 300, 360, 26
    width = label_width + bar_width + 60
    height = top + row * max(len(bars), 1) + 8
    body = []
    # Grid lines at 0, 50, 100 %.
    for tick in (0, 25, 50, 75, 100):
        x = label_width + bar_width * tick / 100
        body.append(
            f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{height - 6}" stroke="{GRID}" stroke-width="1" '
            f'stroke-dasharray="{"" if tick in (0, 100) else "3 3"}"/>'
            f'<text x="{x:.1f}" y="{top - 10}" font-size="11" fill="{MUTED}" text-anchor="middle">{tick}%</text>'
        )
    if not bars:
        body.append(f'<text x="{label_width}" y="{top + 15}" font-size="13" fill="{MUTED}">{escape(empty)}</text>')
    for index, bar in enumerate(bars):
        y = top + index * row
        hint = bar.hint or f"{bar.label}: {_number(bar.value)}{'%' if bar.value is not None else ''}"
        label = (
            f'<text x="{label_width - 8}" y="{y + 15}" font-size="12" fill="{TEXT}" text-anchor="end">'
            f"{escape(_shorten(bar.label, 42))}</text>"
        )
        if bar.value is None:
            shape = f'<text x="{label_width + 6}" y="{y + 15}" font-size="12" fill="{MUTED}">–</text>'
        else:
            value = max(0.0, min(100.0, float(bar.value)))
            length = bar_width * value / 100
            shape = (
                f'<rect x="{label_width}" y="{y + 3}" width="{length:.1f}" height="{row - 7}" fill="{BAR}"/>'
                f'<text x="{label_width + length + 4:.1f}" y="{y + 15}" font-size="12" fill="{TEXT}">'
                f"{escape(_number(bar.value))}%</text>"
            )
        body.append(_linked(bar.href, f'<g class="app-chart-bar"><title>{escape(hint)}</title>{label}{shape}</g>'))
    return _svg(width=width, height=height, title=title, desc=desc, body=body, chart_id=chart_id, wide=True)


@dataclass(frozen=True)
class Pair:
    label: str
    first: int  # e.g. cells that should have met
    second: int  # e.g. cells that met


def paired_columns(
    pairs: Sequence[Pair],
    *,
    first_label: str,
    second_label: str,
    title: str,
    desc: str,
    empty: str,
    chart_id: str = "chart-meetings",
) -> SafeString:
    """Vertical columns in pairs (due vs held), a value above each column, a legend at the top."""
    width, height, top, bottom, left = 480, 240, 40, 36, 36
    plot_height = height - top - bottom
    highest = max([1, *(max(p.first, p.second) for p in pairs)])
    body = [
        f'<rect x="{left}" y="8" width="12" height="12" fill="{BAR}"/>'
        f'<text x="{left + 16}" y="18" font-size="12" fill="{TEXT}">{escape(first_label)}</text>'
        f'<rect x="{left + 200}" y="8" width="12" height="12" fill="{SECOND}"/>'
        f'<text x="{left + 216}" y="18" font-size="12" fill="{TEXT}">{escape(second_label)}</text>'
        f'<line x1="{left}" y1="{top + plot_height}" x2="{width - 8}" y2="{top + plot_height}" stroke="{GRID}"/>'
    ]
    if not pairs:
        body.append(f'<text x="{left}" y="{top + 40}" font-size="13" fill="{MUTED}">{escape(empty)}</text>')
    slot = (width - left - 8) / max(len(pairs), 1)
    column = min(56.0, slot / 3)
    for index, pair in enumerate(pairs):
        x0 = left + index * slot + (slot - 2 * column - 6) / 2
        for offset, value, colour, name in (
            (0, pair.first, BAR, first_label),
            (column + 6, pair.second, SECOND, second_label),
        ):
            bar_height = plot_height * value / highest
            x, y = x0 + offset, top + plot_height - bar_height
            body.append(
                f"<g><title>{escape(f'{pair.label} – {name}: {value}')}</title>"
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{column:.1f}" height="{bar_height:.1f}" fill="{colour}"/>'
                f'<text x="{x + column / 2:.1f}" y="{y - 4:.1f}" font-size="12" fill="{TEXT}" '
                f'text-anchor="middle">{escape(_number(value))}</text></g>'
            )
        body.append(
            f'<text x="{x0 + column + 3:.1f}" y="{height - 14}" font-size="12" fill="{TEXT}" text-anchor="middle">'
            f"{escape(pair.label)}</text>"
        )
    return _svg(width=width, height=height, title=title, desc=desc, body=body, chart_id=chart_id)


@dataclass(frozen=True)
class Point:
    label: str
    value: Decimal | float | None


def percent_line(points: Sequence[Point], *, title: str, desc: str, chart_id: str = "chart-trend") -> SafeString:
    """A line of percentages over time, each point labelled with its value; the axis spans the values shown
    (never less than 10 points), so that small changes near 100 % can be seen."""
    width, height, top, bottom, left, right = 480, 220, 24, 36, 44, 40
    values = [float(p.value) for p in points if p.value is not None]
    low = max(0.0, min(values, default=0.0) - 2)
    high = min(100.0, max(values, default=100.0) + 2)
    if high - low < 10:
        low = max(0.0, high - 10)
        high = max(high, low + 10)
    plot_height = height - top - bottom
    step = (width - left - right) / max(len(points) - 1, 1)

    def y_of(value: float) -> float:
        return top + plot_height * (high - value) / (high - low)

    body = []
    for tick in (low, (low + high) / 2, high):
        y = y_of(tick)
        body.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="{GRID}" stroke-dasharray="3 3"/>'
            f'<text x="{left - 4}" y="{y + 4:.1f}" font-size="11" fill="{MUTED}" text-anchor="end">{tick:.0f}%</text>'
        )
    coordinates, marks = [], []
    for index, point in enumerate(points):
        x = left + index * step if len(points) > 1 else (left + width - right) / 2
        marks.append(
            f'<text x="{x:.1f}" y="{height - 12}" font-size="12" fill="{TEXT}" text-anchor="middle">'
            f"{escape(point.label)}</text>"
        )
        if point.value is None:
            continue
        y = y_of(float(point.value))
        coordinates.append(f"{x:.1f},{y:.1f}")
        marks.append(
            f"<g><title>{escape(f'{point.label}: {_number(point.value)}%')}</title>"
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{BAR}"/>'
            f'<text x="{x:.1f}" y="{y - 8:.1f}" font-size="12" fill="{TEXT}" text-anchor="middle">'
            f"{escape(_number(point.value))}%</text></g>"
        )
    if len(coordinates) > 1:
        body.append(f'<polyline points="{" ".join(coordinates)}" fill="none" stroke="{BAR}" stroke-width="2"/>')
    body.extend(marks)
    return _svg(width=width, height=height, title=title, desc=desc, body=body, chart_id=chart_id)
