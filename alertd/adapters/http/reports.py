"""GET /v1/alerts/{id}/report: the after-action report as JSON, HTML or CSV."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path
from starlette.responses import Response

from alertd.adapters.http.deps import Ctx, Who
from alertd.adapters.http.response import OrjsonResponse
from alertd.adapters.report.data import report_to_dict
from alertd.adapters.report.html import report_html
from alertd.adapters.report.table import report_csv
from alertd.adapters.wire import v1

router = APIRouter(prefix="/v1/alerts", tags=["alerts"])

AlertId = Annotated[str, Path(min_length=1, max_length=64)]


@router.get(
    "/{alert_id}/report",
    responses={
        200: {"content": {"text/html": {}, "text/csv": {}}},
        403: {"model": v1.ErrorBody, "description": "the role may not read reports"},
        404: {"model": v1.ErrorBody, "description": "no such alert (or not in your schools)"},
    },
    summary="After-action report: response times, rooms, deliveries, charts",
)
async def alert_report(
    alert_id: AlertId,
    ctx: Ctx,
    principal: Who,
    format: Literal["json", "html", "csv"] = "json",
) -> Response:
    report = await ctx.reports.report(alert_id, principal=principal)
    if format == "html":
        return Response(report_html(report), media_type="text/html; charset=utf-8")
    if format == "csv":
        return Response(
            report_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="report-{report.alert.id}.csv"'},
        )
    return OrjsonResponse(report_to_dict(report))
