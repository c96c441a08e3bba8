"""The parts of alertd's API that the roll-call and drills work adds, in one place.

Room accountability: `POST /v1/alerts/{id}/roll` (a room's report; Idempotency-Key; 201),
its stream event `RoomReported`; the after-action report `GET /v1/alerts/{id}/report`.
Everything else the simulator uses is the API of `clients.python`.
"""

from __future__ import annotations

from typing import Any

from clients.python.request import Call
from clients.simulator.plan import RollReport

ROOM_REPORTED = "RoomReported"
ROLL_REMINDER = "RollReminder"


def roll_call(alert_id: str, report: RollReport, *, idempotency_key: str) -> Call:
    body = {
        "room_id": report.room_id,
        "group": report.group,
        "status": report.status,
        "students_present": report.students_present,
        "missing": list(report.missing),
        "injured": [],
        "extra": [],
        "note": None,
    }
    return Call(
        "POST",
        f"/v1/alerts/{alert_id}/roll",
        json=body,
        headers={"Idempotency-Key": idempotency_key},
    )


def report_call(alert_id: str) -> Call:
    return Call("GET", f"/v1/alerts/{alert_id}/report")


def reported_room(event: dict[str, Any]) -> str | None:
    """The room a `RoomReported` stream event is about (None for other events)."""
    if event.get("type") != ROOM_REPORTED:
        return None
    data = event.get("data") or {}
    room = data.get("room_id") or (data.get("report") or {}).get("room_id")
    return str(room) if room else None


# The after-action report's figures, by the names the simulator's plan uses, and the keys
# the report may give them under (the first one present counts).
REPORT_FIGURES: dict[str, tuple[str, ...]] = {
    "first_ack_seconds": ("time_to_first_ack_seconds", "first_ack_seconds", "time_to_first_ack"),
    "sro_on_scene_seconds": (
        "time_to_sro_on_scene_seconds",
        "sro_on_scene_seconds",
        "time_to_sro_on_scene",
    ),
    "all_rooms_accounted_seconds": (
        "time_to_all_rooms_accounted_seconds",
        "all_rooms_accounted_seconds",
        "time_until_all_rooms_accounted_seconds",
        "time_until_all_rooms_accounted",
    ),
    "unreported_rooms": ("unreported_rooms",),
}


def report_figures(report: dict[str, Any]) -> dict[str, Any]:
    """The figures of an after-action report that the plan predicts (missing: absent)."""
    places = [report, *(v for v in report.values() if isinstance(v, dict))]
    found: dict[str, Any] = {}
    for name, keys in REPORT_FIGURES.items():
        for place in places:
            key = next((k for k in keys if k in place), None)
            if key is not None:
                value = place[key]
                if name == "unreported_rooms" and isinstance(value, list):
                    value = sorted(
                        r if isinstance(r, str) else str(r.get("room_id")) for r in value
                    )
                found[name] = value
                break
    return found
