"""The report as one CSV table: a row per metric, room, event and delivery.

Columns: section, name, value, at (ISO 8601), offset_seconds (since the alert was raised),
detail. Spreadsheets sort and filter it by section.
"""

from __future__ import annotations

import csv
import io

from alertd.adapters import codec
from alertd.adapters.report.data import seconds
from alertd.core.report import Report, room_label

COLUMNS = ("section", "name", "value", "at", "offset_seconds", "detail")


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    # A cell a spreadsheet would run as a formula is quoted (CSV injection).
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def report_csv(report: Report) -> str:
    alert = report.alert
    rows: list[tuple[object, ...]] = [
        ("alert", "id", alert.id, codec.iso(alert.raised_at), 0, alert.kind.value),
        ("alert", "drill", str(alert.drill).lower(), None, None, alert.school_id),
        ("alert", "state", alert.state.value, None, seconds(report.duration), None),
        (
            "metric",
            "first_acknowledgement_seconds",
            seconds(report.first_acknowledgement),
            None,
            None,
            report.first_acknowledged_by,
        ),
        (
            "metric",
            "sro_on_scene_seconds",
            seconds(report.sro_on_scene),
            None,
            None,
            report.sro_on_scene_name,
        ),
        (
            "metric",
            "all_rooms_accounted_seconds",
            seconds(report.all_rooms_accounted),
            None,
            None,
            None,
        ),
        (
            "metric",
            "rooms_accounted",
            len(report.rooms_accounted),
            None,
            None,
            f"of {len(report.rooms_expected)}",
        ),
        ("metric", "delivery_failures", len(report.delivery_failures), None, None, None),
    ]
    rows += [
        ("room_never_reported", r.id, room_label(r), None, None, None)
        for r in report.rooms_never_reported
    ]
    rows += [
        ("room_needs_help", r.id, room_label(r), None, None, None)
        for r in report.rooms_needing_help
    ]
    rows += [
        (
            "event",
            e.type,
            e.summary,
            codec.iso(e.at),
            seconds(e.offset),
            f"{e.actor} ({e.actor_role})",
        )
        for e in report.timeline
    ]
    rows += [
        (
            "delivery",
            d.recipient_name,
            d.state.value,
            None,
            seconds(d.settled_after),
            "; ".join(x for x in (d.channel.value, d.about, d.error or "") if x),
        )
        for d in report.deliveries
    ]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerows([tuple(_cell(v) for v in row) for row in rows])
    return out.getvalue()
