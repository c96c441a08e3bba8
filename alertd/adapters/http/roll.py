"""/v1/alerts/{id}/roll: room accountability during a lockdown, evacuation or shelter."""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header, Path

from alertd.adapters import codec
from alertd.adapters.http.deps import Ctx, HttpContext, Who
from alertd.adapters.http.response import OrjsonResponse
from alertd.adapters.wire import roll as wire
from alertd.adapters.wire import v1
from alertd.app.roll import Reported, RollAnswer, RollService
from alertd.core.kind import AlertKind
from alertd.core.roll import ReportRoll, RollEntry, RollStatus

router = APIRouter(prefix="/v1/alerts", tags=["roll"])

AlertId = Annotated[str, Path(min_length=1, max_length=64)]

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": v1.ErrorBody, "description": "not signed in"},
    403: {"model": v1.ErrorBody, "description": "the role may not report the roll"},
    404: {"model": v1.ErrorBody, "description": "no such alert (or not in your schools)"},
    409: {
        "model": v1.ErrorBody,
        "description": "the alert keeps no roll (`cause`: roll_not_kept) or is closed "
        "(alert_closed)",
    },
    422: {"model": v1.ErrorBody, "description": "invalid input; `field` names it"},
}


def _service(ctx: HttpContext) -> RollService:
    assert ctx.roll is not None, "the roll service is wired in create_app"
    return ctx.roll


def _fingerprint(alert_id: str, body: wire.RollReportIn) -> str:
    canonical = orjson.dumps(
        {"alert_id": alert_id, **body.model_dump(mode="json")}, option=orjson.OPT_SORT_KEYS
    )
    return hashlib.sha256(canonical).hexdigest()


@router.post(
    "/{alert_id}/roll",
    status_code=201,
    response_model=wire.RollEntryOut,
    responses={
        200: {"model": wire.RollEntryOut, "description": "a retry: the entry this key recorded"},
        **_ERRORS,
    },
    summary="Report a room (or a group): secured or needs help, who is missing",
)
async def report_roll(
    alert_id: AlertId,
    body: wire.RollReportIn,
    ctx: Ctx,
    principal: Who,
    idempotency_key: Annotated[
        str | None,
        Header(
            min_length=1,
            max_length=255,
            description="unique per intended report; a retry with the same key is safe",
        ),
    ] = None,
) -> OrjsonResponse:
    command = ReportRoll(
        room_id=body.room_id,
        group=body.group,
        status=body.status,
        students_present=body.students_present,
        missing=tuple(body.missing),
        injured=tuple(body.injured),
        extra=tuple(body.extra),
        note=body.note,
    )
    reported = await _service(ctx).report(
        alert_id,
        command,
        principal=principal,
        idempotency_key=idempotency_key,
        fingerprint=_fingerprint(alert_id, body),
    )
    return OrjsonResponse(reported_to_dict(reported), status_code=201 if reported.created else 200)


@router.get(
    "/{alert_id}/roll",
    response_model=wire.RollOut,
    responses={401: _ERRORS[401], 404: _ERRORS[404]},
    summary="The roll: every room's status, the groups, and who has not reported",
)
async def read_roll(alert_id: AlertId, ctx: Ctx, principal: Who) -> OrjsonResponse:
    answer = await _service(ctx).roll(alert_id, principal=principal)
    return OrjsonResponse(roll_to_dict(answer))


def _entry_fields(entry: RollEntry) -> dict[str, Any]:
    return {
        "status": entry.status.value,
        "reported_at": codec.iso(entry.reported_at),
        "reported_by": codec.actor_to_dict(entry.reported_by),
        "students_present": entry.students_present,
        "missing": list(entry.missing),
        "injured": list(entry.injured),
        "extra": list(entry.extra),
        "note": entry.note,
    }


def reported_to_dict(reported: Reported) -> dict[str, Any]:
    entry = reported.entry
    return {
        "alert_id": reported.alert_id,
        "event_id": reported.event_id,
        "room_id": entry.room_id,
        "group": entry.group,
        **_entry_fields(entry),
    }


def roll_to_dict(answer: RollAnswer) -> dict[str, Any]:
    alert, view = answer.alert, answer.view
    rooms = []
    for line in view.rooms:
        room = {
            "room_id": line.room.id,
            "name": line.room.name,
            "number": line.room.number,
            "building_id": line.room.building_id,
            "floor_id": line.room.floor_id,
            "expected": line.expected,
        }
        if line.entry is not None:
            room.update(_entry_fields(line.entry))
        else:
            room.update(
                status=RollStatus.NOT_REPORTED.value,
                reported_at=None,
                reported_by=None,
                students_present=None,
                missing=[],
                injured=[],
                extra=[],
                note=None,
            )
        rooms.append(room)
    sites = []
    if alert.kind is AlertKind.EVACUATE and answer.school is not None:
        sites = [codec.reunification_site_to_dict(s) for s in answer.school.reunification_sites]
    roll = view.roll
    return {
        "alert_id": alert.id,
        "kind": alert.kind.value,
        "state": alert.state.value,
        "drill": alert.drill,
        "kept": roll.kept,
        "started_at": codec.iso(roll.started_at) if roll.started_at else None,
        "since_seconds": view.since_seconds,
        "expected_rooms": view.expected,
        "rooms": rooms,
        "groups": [{"group": g.group, **_entry_fields(g)} for g in view.groups],
        "unreported": list(view.unreported),
        "counts": {status.value: view.counts.get(status, 0) for status in RollStatus},
        "reminders": roll.reminders,
        "destination": alert.destination,
        "reunification_sites": sites,
    }
