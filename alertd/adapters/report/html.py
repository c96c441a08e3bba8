"""The report as one self-contained HTML page: its charts inline SVG, its stylesheet inline
(allowed by hash in the page's Content-Security-Policy, `STYLE_SOURCE`), no script at all.
Saved to a file, it still reads the same."""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime, timedelta
from html import escape

from alertd.adapters import codec
from alertd.adapters.report.svg import roll_chart, timeline_chart
from alertd.core.alert import EventType
from alertd.core.report import Report, room_label

STYLESHEET = """
body { font: 15px/1.45 system-ui, sans-serif; color: #1b1b1b; margin: 2rem auto; max-width: 820px; }
h1 { font-size: 1.5rem; margin: 0 0 .25rem; } h2 { font-size: 1.1rem; margin: 1.6rem 0 .5rem; }
.banner { font-weight: 800; letter-spacing: .05em; padding: .4rem .8rem; border-radius: 4px;
  color: #fff; display: inline-block; }
.banner.drill { background: #4b2a9b; } .banner.real { background: #b3001b; }
.metrics { display: grid; grid-template-columns: repeat(3, 1fr); gap: .6rem; }
.metric { border: 1px solid #ddd; border-radius: 6px; padding: .6rem .8rem; }
.metric b { display: block; font-size: 1.4rem; } .metric span { color: #555; font-size: .85rem; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid #eee; }
tr.failed td { color: #b3001b; font-weight: 600; }
.chart { max-width: 100%; height: auto; border: 1px solid #eee; border-radius: 6px; }
.muted { color: #666; }
.rooms-never { columns: 3; padding-left: 1.2rem; }
"""
STYLE_SOURCE = (
    "'sha256-" + base64.b64encode(hashlib.sha256(STYLESHEET.encode()).digest()).decode() + "'"
)


def _duration(span: timedelta | None) -> str:
    if span is None:
        return "—"
    total = int(span.total_seconds())
    minutes, seconds = divmod(total, 60)
    return f"{minutes} min {seconds:02d} s" if minutes else f"{seconds} s"


def _clock(span: timedelta) -> str:
    """Minutes:seconds since the alert was raised: "+3:05"."""
    minutes, seconds = divmod(max(int(span.total_seconds()), 0), 60)
    return f"+{minutes}:{seconds:02d}"


def _when(moment: datetime) -> str:
    return codec.iso(moment).replace("T", " ")[:19] + " UTC"


def _metric(value: str, label: str, who: str | None = None) -> str:
    detail = f"{label} ({who})" if who else label
    return f'<div class="metric"><b>{escape(value)}</b><span>{escape(detail)}</span></div>'


def report_html(report: Report) -> str:
    alert = report.alert
    kind = alert.kind.value.replace("_", " ").upper()
    banner = (
        '<span class="banner drill">DRILL</span>'
        if alert.drill
        else '<span class="banner real">REAL</span>'
    )
    never = report.rooms_never_reported
    metrics = "".join(
        [
            _metric(
                _duration(report.first_acknowledgement),
                "to first acknowledgement",
                report.first_acknowledged_by,
            ),
            _metric(_duration(report.sro_on_scene), "to SRO on scene", report.sro_on_scene_name),
            _metric(_duration(report.all_rooms_accounted), "until all rooms accounted for"),
            _metric(
                f"{len(report.rooms_accounted)} / {len(report.rooms_expected)}",
                "rooms accounted for",
            ),
            _metric(str(len(never)), "rooms never reported"),
            _metric(str(len(report.delivery_failures)), "texts or calls failed"),
        ]
    )
    rooms = (
        '<ul class="rooms-never">'
        + "".join(f"<li>{escape(room_label(r))}</li>" for r in never)
        + "</ul>"
        if never
        else '<p class="muted">Every expected room reported.</p>'
    )
    reports = sum(1 for e in report.timeline if e.type == EventType.ROOM_REPORTED.value)
    events = "".join(
        f"<tr><td>{_clock(e.offset)}</td><td>{escape(e.summary)}</td>"
        f"<td>{escape(e.actor)} <span class=muted>({escape(e.actor_role)})</span></td>"
        f"<td>{escape(e.note or '')}</td></tr>"
        for e in report.timeline
        if e.type != EventType.ROOM_REPORTED.value  # counted in the rooms chart
    )
    if reports:
        events += f'<tr><td></td><td colspan="3" class="muted">and {reports} room reports</td></tr>'
    deliveries = "".join(
        f'<tr class="{"failed" if d.failed else ""}"><td>{escape(d.recipient_name)}</td>'
        f"<td>{escape(d.channel.value)}</td><td>{escape(d.about)}</td>"
        f"<td>{escape(d.state.value)}</td><td>{_duration(d.settled_after)}</td>"
        f"<td>{escape(d.error or '')}</td></tr>"
        for d in report.deliveries
    )
    ended = _when(report.ended_at) if report.ended_at else "still open"
    room = f", room {escape(alert.room_id)}" if alert.room_id else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>After-action report: {escape(kind)} {"drill" if alert.drill else "alert"}</title>
<style>{STYLESHEET}</style></head>
<body>
<p>{banner}</p>
<h1>After-action report: {escape(kind)}</h1>
<p class="muted">{escape(report.school_name or alert.school_id)}{room}.
Raised {_when(alert.raised_at)} by {escape(alert.raised_by.name)}; ended {ended};
state {escape(alert.state.value.replace("_", " "))}. Generated {_when(report.generated_at)}.</p>
<h2>Response times</h2>
<div class="metrics">{metrics}</div>
<h2>Timeline</h2>
{timeline_chart(report)}
<h2>Rooms accounted for over time</h2>
{roll_chart(report)}
<h2>Rooms that never reported</h2>
{rooms}
<h2>Texts and calls</h2>
<table><thead><tr><th>Recipient</th><th>Channel</th><th>About</th><th>State</th>
<th>Time to settle</th><th>Error</th></tr></thead><tbody>{deliveries}</tbody></table>
<h2>Events</h2>
<table><thead><tr><th>At</th><th>What</th><th>Who</th><th>Note</th></tr></thead>
<tbody>{events}</tbody></table>
</body></html>
"""
