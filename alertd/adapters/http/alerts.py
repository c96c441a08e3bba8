"""/v1/alerts: raise alerts and move them through their lifecycle."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header, Path, Query
from starlette.requests import Request

from alertd.adapters import codec
from alertd.adapters.http.deps import Ctx, HttpContext, Who
from alertd.adapters.http.devices import device_signed_at
from alertd.adapters.http.response import OrjsonResponse
from alertd.adapters.wire import v1
from alertd.app.ports import AlertFilter
from alertd.app.service import require
from alertd.core.alert import AlertState
from alertd.core.command import (
    Acknowledge,
    AddNote,
    AlertCommand,
    Cancel,
    GiveAllClear,
    RaiseAlert,
    ReportStatus,
    Resolve,
    Upgrade,
)
from alertd.core.delivery import delivery_view
from alertd.core.errors import NotFound
from alertd.core.kind import AlertKind
from alertd.core.permission import Action, Principal, Verdict, authorize

router = APIRouter(prefix="/v1/alerts", tags=["alerts"])

AlertId = Annotated[str, Path(min_length=1, max_length=64)]

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": v1.ErrorBody, "description": "not signed in"},
    403: {"model": v1.ErrorBody, "description": "the role may not do this"},
    404: {"model": v1.ErrorBody, "description": "no such alert (or not in your schools)"},
    409: {"model": v1.ErrorBody, "description": "not allowed in the alert's current state"},
    422: {"model": v1.ErrorBody, "description": "invalid input; `field` names it"},
}


def _fingerprint(body: v1.RaiseAlertIn) -> str:
    canonical = orjson.dumps(body.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()


@router.post(
    "",
    status_code=201,
    response_model=v1.AlertOut,
    responses={
        200: {"model": v1.AlertOut, "description": "a retry: the alert this key already raised"},
        422: _ERRORS[422],
    },
    summary="Raise an alert",
)
async def raise_alert(
    body: v1.RaiseAlertIn,
    request: Request,
    ctx: Ctx,
    principal: Who,
    idempotency_key: Annotated[
        str,
        Header(
            min_length=1,
            max_length=255,
            description="unique per intended alert; a retry with the same key is safe",
        ),
    ],
) -> OrjsonResponse:
    command = RaiseAlert(
        kind=body.kind,
        school_id=body.school_id,
        room_id=body.room_id,
        note=body.note,
        drill=body.drill,
        destination=body.destination,
        hazard=body.hazard,
        source=body.source,
        pressed_at=device_signed_at(request),
    )
    raised = await ctx.alerts.raise_alert(
        command,
        principal=principal,
        idempotency_key=idempotency_key,
        fingerprint=_fingerprint(body),
    )
    if raised.created:
        ctx.metrics.alerts_raised.labels(raised.alert.kind.value, str(raised.alert.drill)).inc()
    status = 201 if raised.created else 200
    return OrjsonResponse(codec.alert_to_dict(raised.alert), status_code=status)


@router.get("", response_model=v1.AlertList, summary="List alerts, newest first")
async def list_alerts(
    ctx: Ctx,
    principal: Who,
    school: Annotated[list[str] | None, Query(description="school id; repeatable")] = None,
    state: Annotated[list[AlertState] | None, Query()] = None,
    kind: Annotated[list[AlertKind] | None, Query()] = None,
    drill: bool | None = None,
    raised_after: datetime | None = None,
    raised_before: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> OrjsonResponse:
    query = AlertFilter(
        school_ids=frozenset(school) if school else None,
        states=frozenset(state) if state else None,
        kinds=frozenset(kind) if kind else None,
        drill=drill,
        raised_after=raised_after,
        raised_before=raised_before,
        limit=limit,
    )
    alerts = await ctx.alerts.list_alerts(query, principal=principal)
    return OrjsonResponse({"alerts": [codec.alert_to_dict(a) for a in alerts]})


@router.get(
    "/{alert_id}",
    response_model=v1.AlertDetail,
    responses={404: _ERRORS[404]},
    summary="One alert with its timeline",
)
async def get_alert(alert_id: AlertId, ctx: Ctx, principal: Who) -> OrjsonResponse:
    alert = await ctx.store.get_alert(alert_id)
    if alert is None:
        raise NotFound("alert", alert_id)
    verdict = authorize(principal, Action.VIEW_ALERT, alert=alert)
    require(verdict, what="alert", ident=alert_id, action=Action.VIEW_ALERT)
    timeline = await ctx.store.timeline(alert_id)
    body = codec.alert_to_dict(alert)
    body["timeline"] = [codec.logged_to_dict(e) for e in timeline]
    body["deliveries"] = None
    if authorize(principal, Action.VIEW_DELIVERIES, alert=alert) is Verdict.ALLOW:
        deliveries = await ctx.store.deliveries(alert_id)
        body["deliveries"] = [codec.plain(delivery_view(d)) for d in deliveries]
    return OrjsonResponse(body)


async def _act(
    ctx: HttpContext, alert_id: str, command: AlertCommand, principal: Principal
) -> OrjsonResponse:
    alert = await ctx.alerts.act(alert_id, command, principal=principal)
    return OrjsonResponse(codec.alert_to_dict(alert))


@router.post(
    "/{alert_id}/acknowledge",
    response_model=v1.AlertOut,
    responses=_ERRORS,
    summary="Acknowledge (once per responder)",
)
async def acknowledge(
    alert_id: AlertId, ctx: Ctx, principal: Who, body: v1.NoteIn | None = None
) -> OrjsonResponse:
    return await _act(ctx, alert_id, Acknowledge(note=body.note if body else None), principal)


@router.post(
    "/{alert_id}/status",
    response_model=v1.AlertOut,
    responses=_ERRORS,
    summary="Report en_route or on_scene",
)
async def report_status(
    alert_id: AlertId, body: v1.StatusIn, ctx: Ctx, principal: Who
) -> OrjsonResponse:
    return await _act(ctx, alert_id, ReportStatus(status=body.status, note=body.note), principal)


@router.post(
    "/{alert_id}/resolve",
    response_model=v1.AlertOut,
    responses=_ERRORS,
    summary="Resolve a room-scoped alert",
)
async def resolve(
    alert_id: AlertId, ctx: Ctx, principal: Who, body: v1.NoteIn | None = None
) -> OrjsonResponse:
    return await _act(ctx, alert_id, Resolve(note=body.note if body else None), principal)


@router.post(
    "/{alert_id}/cancel",
    response_model=v1.AlertOut,
    responses=_ERRORS,
    summary="Cancel (false alarm), with a reason",
)
async def cancel(alert_id: AlertId, body: v1.CancelIn, ctx: Ctx, principal: Who) -> OrjsonResponse:
    return await _act(ctx, alert_id, Cancel(reason=body.reason), principal)


@router.post(
    "/{alert_id}/all-clear",
    response_model=v1.AlertOut,
    responses=_ERRORS,
    summary="Give the all clear on a campus-wide alert",
)
async def all_clear(
    alert_id: AlertId, ctx: Ctx, principal: Who, body: v1.NoteIn | None = None
) -> OrjsonResponse:
    return await _act(ctx, alert_id, GiveAllClear(note=body.note if body else None), principal)


@router.post(
    "/{alert_id}/notes",
    response_model=v1.AlertOut,
    responses=_ERRORS,
    summary="Add a note to the timeline",
)
async def add_note(
    alert_id: AlertId, body: v1.AddNoteIn, ctx: Ctx, principal: Who
) -> OrjsonResponse:
    return await _act(ctx, alert_id, AddNote(text=body.text), principal)


@router.post(
    "/{alert_id}/upgrade",
    response_model=v1.AlertOut,
    responses=_ERRORS,
    summary="Upgrade to a more severe kind",
)
async def upgrade(
    alert_id: AlertId, body: v1.UpgradeIn, ctx: Ctx, principal: Who
) -> OrjsonResponse:
    command = Upgrade(
        kind=body.kind, note=body.note, destination=body.destination, hazard=body.hazard
    )
    return await _act(ctx, alert_id, command, principal)
