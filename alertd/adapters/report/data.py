"""The report as plain JSON data (`GET /v1/alerts/{id}/report`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from alertd.adapters import codec
from alertd.core.report import Report, room_label


def seconds(span: timedelta | None) -> float | None:
    return round(span.total_seconds(), 3) if span is not None else None


def report_to_dict(report: Report) -> dict[str, Any]:
    alert = report.alert
    return {
        "alert": codec.alert_to_dict(alert),
        "drill": alert.drill,
        "school_name": report.school_name,
        "generated_at": codec.iso(report.generated_at),
        "ended_at": codec.iso(report.ended_at) if report.ended_at else None,
        "duration_seconds": seconds(report.duration),
        "metrics": {
            "first_acknowledgement_seconds": seconds(report.first_acknowledgement),
            "first_acknowledged_by": report.first_acknowledged_by,
            "sro_on_scene_seconds": seconds(report.sro_on_scene),
            "sro_on_scene_name": report.sro_on_scene_name,
            "all_rooms_accounted_seconds": seconds(report.all_rooms_accounted),
            "rooms_expected": len(report.rooms_expected),
            "rooms_accounted": len(report.rooms_accounted),
            "delivery_failures": len(report.delivery_failures),
        },
        "rooms_never_reported": [
            {"id": r.id, "label": room_label(r)} for r in report.rooms_never_reported
        ],
        "rooms_needing_help": [
            {"id": r.id, "label": room_label(r)} for r in report.rooms_needing_help
        ],
        "room_reports": [
            {
                "at": codec.iso(r.reported_at),
                "offset_seconds": seconds(r.reported_at - alert.raised_at),
                "room_id": r.room_id,
                "group": r.group,
                "status": r.status.value,
                "reported_by": r.reported_by.name,
                "students_present": r.students_present,
                # counts only: the names stay in the roll (GET /v1/alerts/{id}/roll)
                "missing": len(r.missing),
                "injured": len(r.injured),
                "extra": len(r.extra),
            }
            for r in report.room_reports
        ],
        "rooms_accounted_over_time": [
            {"offset_seconds": seconds(p.offset), "accounted": p.accounted} for p in report.roll
        ],
        "timeline": [
            {
                "at": codec.iso(e.at),
                "offset_seconds": seconds(e.offset),
                "type": e.type,
                "actor": e.actor,
                "actor_role": e.actor_role,
                "summary": e.summary,
                "note": e.note,
            }
            for e in report.timeline
        ],
        "deliveries": [
            {
                "recipient_id": d.recipient_id,
                "recipient_name": d.recipient_name,
                "recipient_kind": d.recipient_kind,
                "channel": d.channel.value,
                "about": d.about,
                "state": d.state.value,
                "queued_after_seconds": seconds(d.queued_after),
                "settled_after_seconds": seconds(d.settled_after),
                "failed": d.failed,
                "error": d.error,
                "error_code": d.error_code,
            }
            for d in report.deliveries
        ],
    }
