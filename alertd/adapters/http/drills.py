"""/v1/drills (drill plans: schedule, start, end, cancel) and /v1/compliance (drill counts
against the state's requirement, as JSON or CSV)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from starlette.responses import Response

from alertd.adapters import codec
from alertd.adapters.http.deps import Ctx, Who
from alertd.adapters.http.response import OrjsonResponse
from alertd.adapters.wire import drills as wire
from alertd.adapters.wire import v1
from alertd.app.drill_ports import PlanFilter
from alertd.core.compliance import Compliance
from alertd.core.drill import DrillState, ScheduleDrill
from alertd.core.errors import ValidationFailed

router = APIRouter(tags=["drills"])

PlanId = Annotated[str, Path(min_length=1, max_length=64)]
SchoolId = Annotated[str, Query(min_length=1, max_length=64)]
DISCLAIMER = (
    "Drill requirements are configurable examples (ALERTD_COMPLIANCE_FILE), not legal advice: "
    "check your state's current rules."
)

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": v1.ErrorBody, "description": "not signed in"},
    403: {"model": v1.ErrorBody, "description": "the role may not run drills"},
    404: {"model": v1.ErrorBody, "description": "no such drill (or not in your schools)"},
    409: {"model": v1.ErrorBody, "description": "not allowed in the drill's current state"},
    422: {"model": v1.ErrorBody, "description": "invalid input; `field` names it"},
}


@router.post(
    "/v1/drills",
    status_code=201,
    response_model=wire.DrillPlanOut,
    responses=_ERRORS,
    summary="Schedule a drill",
)
async def schedule_drill(body: wire.DrillPlanIn, ctx: Ctx, principal: Who) -> OrjsonResponse:
    command = ScheduleDrill(
        kind=body.kind,
        school_id=body.school_id,
        scheduled_for=body.scheduled_for,
        audience=body.audience,
        test_contacts=tuple(body.test_contacts),
        room_id=body.room_id,
        destination=body.destination,
        hazard=body.hazard,
        note=body.note,
    )
    plan = await ctx.drills.schedule(command, principal=principal)
    return OrjsonResponse(codec.drill_plan_to_dict(plan), status_code=201)


def _moment(value: datetime | None, field: str) -> datetime | None:
    """A moment the database can store: year 1 or 9999 with an offset is not one in UTC."""
    if value is None:
        return None
    try:
        return codec.utc(value)
    except OverflowError:
        raise ValidationFailed(field, f"{field} is out of range") from None


@router.get("/v1/drills", response_model=wire.DrillPlanList, summary="Drill plans, soonest first")
async def list_drills(
    ctx: Ctx,
    principal: Who,
    school_id: SchoolId | None = None,
    state: Annotated[list[DrillState] | None, Query()] = None,
    scheduled_after: datetime | None = None,
    scheduled_before: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> OrjsonResponse:
    query = PlanFilter(
        school_ids=frozenset({school_id}) if school_id else None,
        scheduled_after=_moment(scheduled_after, "scheduled_after"),
        scheduled_before=_moment(scheduled_before, "scheduled_before"),
        states=frozenset(state) if state else None,
        limit=limit,
    )
    plans = await ctx.drills.plans(query, principal=principal)
    return OrjsonResponse({"drills": [codec.drill_plan_to_dict(p) for p in plans]})


@router.get(
    "/v1/drills/{plan_id}", response_model=wire.DrillPlanOut, responses=_ERRORS, summary="A drill"
)
async def get_drill(plan_id: PlanId, ctx: Ctx, principal: Who) -> OrjsonResponse:
    plan = await ctx.drills.plan(plan_id, principal=principal)
    return OrjsonResponse(codec.drill_plan_to_dict(plan))


@router.post(
    "/v1/drills/{plan_id}/start",
    response_model=wire.DrillPlanOut,
    responses=_ERRORS,
    summary="Start a drill: raise its drill alert (drill=true, to test contacts only)",
)
async def start_drill(plan_id: PlanId, ctx: Ctx, principal: Who) -> OrjsonResponse:
    plan = await ctx.drills.start(plan_id, principal=principal)
    return OrjsonResponse(codec.drill_plan_to_dict(plan))


@router.post(
    "/v1/drills/{plan_id}/end",
    response_model=wire.DrillPlanOut,
    responses=_ERRORS,
    summary="End a drill: the all clear (or resolve) on its alert",
)
async def end_drill(plan_id: PlanId, ctx: Ctx, principal: Who) -> OrjsonResponse:
    plan = await ctx.drills.end(plan_id, principal=principal)
    return OrjsonResponse(codec.drill_plan_to_dict(plan))


@router.post(
    "/v1/drills/{plan_id}/cancel",
    response_model=wire.DrillPlanOut,
    responses=_ERRORS,
    summary="Call off a drill that has not started",
)
async def cancel_drill(plan_id: PlanId, ctx: Ctx, principal: Who) -> OrjsonResponse:
    plan = await ctx.drills.cancel(plan_id, principal=principal)
    return OrjsonResponse(codec.drill_plan_to_dict(plan))


def compliance_to_dict(found: Compliance) -> dict[str, Any]:
    rule = found.rule
    return {
        "school_id": found.school_id,
        "state": rule.code,
        "state_name": rule.name,
        "source": rule.source,
        "note": rule.note,
        "term": found.term.id,
        "first_day": found.term.first_day.isoformat(),
        "last_day": found.term.last_day.isoformat(),
        "met": found.met,
        "requirements": [
            {
                "kind": row.requirement.kind.value,
                "hazard": row.requirement.hazard.value if row.requirement.hazard else None,
                "label": row.requirement.label,
                "required": row.requirement.count,
                "done": row.done,
                "planned": row.planned,
                "met": row.met,
            }
            for row in found.rows
        ],
        "drills": [
            {
                "alert_id": d.alert_id,
                "kind": d.kind.value,
                "hazard": d.hazard.value if d.hazard else None,
                "raised_at": codec.iso(d.raised_at),
                "state": d.state.value,
                "counted": d.counted,
            }
            for d in found.drills
        ],
        "disclaimer": DISCLAIMER,
    }


def compliance_csv(found: Compliance) -> str:
    """One row per requirement: the term, what is required, done, planned, met."""
    lines = ["school_id,state,term,requirement,kind,hazard,required,done,planned,met"]
    for row in found.rows:
        req = row.requirement
        label = '"' + req.label.replace('"', '""') + '"'
        lines.append(
            f"{found.school_id},{found.rule.code},{found.term.id},{label},{req.kind.value},"
            f"{req.hazard.value if req.hazard else ''},{req.count},{row.done},{row.planned},"
            f"{'yes' if row.met else 'no'}"
        )
    return "\r\n".join(lines) + "\r\n"


@router.get(
    "/v1/compliance",
    response_model=wire.ComplianceOut,
    responses={**_ERRORS, 200: {"content": {"text/csv": {}}}},
    summary="Drills per kind and term against the state's requirement (JSON or CSV)",
)
async def compliance(
    ctx: Ctx,
    principal: Who,
    school_id: SchoolId,
    term: Annotated[str | None, Query(max_length=40, description="e.g. 2026-fall")] = None,
    format: Literal["json", "csv"] = "json",
) -> Response:
    found = await ctx.compliance.compliance(school_id=school_id, term=term, principal=principal)
    if format == "csv":
        filename = f"drill-compliance-{found.school_id}-{found.term.id}.csv"
        return Response(
            compliance_csv(found),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
    return OrjsonResponse(compliance_to_dict(found))
