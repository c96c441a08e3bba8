"""The report's charts as inline SVG, drawn on the server: no script, no chart library.

`timeline_chart`: one row per event (the roll's reports share one row), a dot at its time
on a shared axis (minutes since the alert was raised). `roll_chart`: the rooms accounted
for over time, a step line up to the number of rooms expected. Both are pure functions of
the report; every text is escaped.
"""

from __future__ import annotations

from datetime import timedelta
from html import escape

from alertd.core.alert import EventType
from alertd.core.report import Report, TimelineEntry

WIDTH = 760
_LEFT = 250  # room for the event labels
_RIGHT = 20
_ROW = 20
_AXIS = 34
_COLOURS = {
    "AlertRaised": "#b3001b",
    "AlertAcknowledged": "#1f6feb",
    "ResponderStatusReported": "#0a7d32",
    "RoomReported": "#8a5a00",
    "AllClearGiven": "#444",
    "AlertResolved": "#444",
    "AlertCancelled": "#444",
}


def _span(report: Report) -> float:
    last = max([report.duration, *(e.offset for e in report.timeline)], default=timedelta(0))
    return max(last.total_seconds(), 60.0)


def _ticks(span: float) -> list[float]:
    """Tick positions in seconds: about six, on whole minutes (or seconds, for short spans)."""
    for step in (10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600):
        if span / step <= 8:
            break
    return [i * float(step) for i in range(int(span // step) + 1)]


def _label(seconds: float) -> str:
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}:{rest:02d}"


def _axis(span: float, *, x0: int, x1: int, y: int) -> list[str]:
    parts = [f'<line x1="{x0}" y1="{y}" x2="{x1}" y2="{y}" stroke="#888"/>']
    for tick in _ticks(span):
        x = x0 + (x1 - x0) * tick / span
        parts.append(f'<line x1="{x:.1f}" y1="{y}" x2="{x:.1f}" y2="{y + 4}" stroke="#888"/>')
        parts.append(
            f'<text x="{x:.1f}" y="{y + 16}" font-size="11" text-anchor="middle" '
            f'fill="#444">{_label(tick)}</text>'
        )
    return parts


def _rows(report: Report) -> list[tuple[str, list[TimelineEntry]]]:
    """One row per event, except the roll's reports: one row holds them all (there may be
    hundreds; the rooms chart shows them as a count)."""
    rows: list[tuple[str, list[TimelineEntry]]] = []
    reports: list[TimelineEntry] = []
    for entry in report.timeline:
        if entry.type == EventType.ROOM_REPORTED.value:
            if not reports:
                rows.append(("", reports))
            reports.append(entry)
        else:
            rows.append((entry.summary, [entry]))
    return [(label or f"room reports ({len(reports)})", dots) for label, dots in rows]


def timeline_chart(report: Report) -> str:
    span = _span(report)
    rows = _rows(report)
    height = _ROW * len(rows) + _AXIS + 10
    x0, x1 = _LEFT, WIDTH - _RIGHT
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart timeline" role="img" '
        f'width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" '
        f'aria-label="Timeline: {len(report.timeline)} events over {_label(span)} minutes">'
    ]
    for i, (label, entries) in enumerate(rows):
        y = 10 + i * _ROW + _ROW / 2
        parts.append(
            f'<line x1="{x0}" y1="{y:.1f}" x2="{x1}" y2="{y:.1f}" stroke="#eee"/>'
            f'<text x="{x0 - 8}" y="{y + 4:.1f}" font-size="12" text-anchor="end" '
            f'fill="#222">{escape(label[:40])}</text>'
        )
        for entry in entries:
            x = x0 + (x1 - x0) * max(entry.offset.total_seconds(), 0) / span
            colour = _COLOURS.get(entry.type, "#555")
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="{colour}" class="event">'
                f"<title>{escape(_label(entry.offset.total_seconds()))} "
                f"{escape(entry.summary)} ({escape(entry.actor)})</title></circle>"
            )
    parts += _axis(span, x0=x0, x1=x1, y=10 + len(rows) * _ROW + 4)
    parts.append("</svg>")
    return "".join(parts)


def roll_chart(report: Report) -> str:
    expected = len(report.rooms_expected)
    span = _span(report)
    height = 220
    x0, x1, top, bottom = 60, WIDTH - _RIGHT, 16, height - _AXIS
    ceiling = max(expected, 1)

    def x_of(seconds: float) -> float:
        return x0 + (x1 - x0) * min(max(seconds, 0), span) / span

    def y_of(count: int) -> float:
        return bottom - (bottom - top) * count / ceiling

    points: list[str] = []
    previous = 0
    for point in report.roll:
        x = x_of(point.offset.total_seconds())
        points.append(f"{x:.1f},{y_of(previous):.1f} {x:.1f},{y_of(point.accounted):.1f}")
        previous = point.accounted
    points.append(f"{x_of(span):.1f},{y_of(previous):.1f}")
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart roll" role="img" '
        f'width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" '
        f'aria-label="Rooms accounted for: {len(report.rooms_accounted)} of {expected}">',
        f'<line x1="{x0}" y1="{y_of(expected):.1f}" x2="{x1}" y2="{y_of(expected):.1f}" '
        f'stroke="#0a7d32" stroke-dasharray="6 4"/>',
        f'<text x="{x1}" y="{y_of(expected) - 4:.1f}" font-size="11" text-anchor="end" '
        f'fill="#0a7d32">{expected} rooms expected</text>',
        f'<line x1="{x0}" y1="{top}" x2="{x0}" y2="{bottom}" stroke="#888"/>',
    ]
    for count in sorted({0, ceiling // 2, ceiling}):
        parts.append(
            f'<text x="{x0 - 6}" y="{y_of(count) + 4:.1f}" font-size="11" '
            f'text-anchor="end" fill="#444">{count}</text>'
        )
    parts.append(
        f'<polyline class="accounted" points="{" ".join(points)}" fill="none" '
        f'stroke="#1f6feb" stroke-width="2.5"/>'
    )
    parts += _axis(span, x0=x0, x1=x1, y=bottom)
    parts.append("</svg>")
    return "".join(parts)
