"""The parts of alertd's API that the roll-call and drills work adds, in one place.

Room accountability: `POST /v1/alerts/{id}/roll` (a room's report; Idempotency-Key; 201),
its stream event `RoomReported`; the after-action report `GET /v1/alerts/{id}/report`;
drill plans: `POST /v1/drills` (scheduled), `/v1/drills/{id}/start` (its alert is raised),
`/v1/drills/{id}/end`. Everything else the simulator uses is the API of `clients.python`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from clients.python.request import Call
from clients.simulator.plan import RollReport

ROOM_REPORTED = "RoomReported"
ROLL_REMINDER = "RollReminder"


def roll_call(alert_id: str, report: RollReport, *, idempotency_key: str) -> Call:
    body = {
        "room_id": report.room_id,
        "group": None,
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


def drill_plan_call(body: dict[str, Any], *, scheduled_for: datetime) -> Call:
    """Schedule a drill plan for `scheduled_for` (its alert's fields in `body`)."""
    return Call("POST", "/v1/drills", json={**body, "scheduled_for": scheduled_for.isoformat()})


def drill_start_call(plan_id: str) -> Call:
    """Start the plan: the answer's `alert_id` is the drill alert it raised."""
    return Call("POST", f"/v1/drills/{plan_id}/start")


def drill_end_call(plan_id: str) -> Call:
    return Call("POST", f"/v1/drills/{plan_id}/end")


def report_call(alert_id: str) -> Call:
    return Call("GET", f"/v1/alerts/{alert_id}/report")


def note_version(versions: dict[str, int], alert: Any) -> None:
    """Keep in `versions` the highest `version` of the alert `alert` shows (an alert as the
    API answers it, or a stream event's `alert`); anything else is ignored."""
    if isinstance(alert, dict) and isinstance(alert.get("version"), int):
        alert_id = str(alert["id"])
        versions[alert_id] = max(versions.get(alert_id, 0), alert["version"])


def reported_room(event: dict[str, Any]) -> str | None:
    """The room a `RoomReported` stream event is about (None for other events)."""
    if event.get("type") != ROOM_REPORTED:
        return None
    data = event.get("data") or {}
    room = data.get("room_id") or (data.get("report") or {}).get("room_id")
    return str(room) if room else None


# Where the after-action report (JSON) gives the figures the simulator's plan predicts.
_METRICS = {
    "first_ack_seconds": "first_acknowledgement_seconds",
    "sro_on_scene_seconds": "sro_on_scene_seconds",
    "all_rooms_accounted_seconds": "all_rooms_accounted_seconds",
    "rooms_accounted": "rooms_accounted",
}


def report_figures(report: dict[str, Any]) -> dict[str, Any]:
    """The figures of an after-action report that the plan predicts, by the plan's names
    (a figure the report lacks is left out)."""
    metrics = report.get("metrics") or {}
    found = {name: metrics[key] for name, key in _METRICS.items() if key in metrics}
    if "rooms_never_reported" in report:
        found["unreported_rooms"] = sorted(r["id"] for r in report["rooms_never_reported"])
    return found
