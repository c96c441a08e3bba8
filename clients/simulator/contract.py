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
