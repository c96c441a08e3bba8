"""Standards for other systems: CAP 1.2 messages and feeds, NENA EIDO incidents.

GET /v1/alerts/{id}/cap               the alert's latest state as one CAP 1.2 message
GET /v1/alerts/{id}/cap/messages      every CAP message of the alert, as an Atom feed
GET /v1/alerts/{id}/eido              the alert as a NENA EIDO incident (JSON)
GET /v1/schools/{id}/cap.atom         Atom feed: the latest message of each recent alert
GET /v1/agencies/{id}/cap.atom        the same for every school an agency covers

Every route needs a signed-in reader with the CAP (or, for EIDO, the incident export)
permission who may view the alert or act for the school (or every school of the agency).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from starlette.responses import Response

from alertd.adapters.cap.xml import ATOM_MEDIA_TYPE, CAP_MEDIA_TYPE, FeedEntry, atom_feed, cap_xml
from alertd.adapters.http.deps import Ctx, HttpContext, Who
from alertd.adapters.http.response import OrjsonResponse
from alertd.adapters.wire import v1
from alertd.app.interop import CapFeed, InteropService
from alertd.core.errors import NotFound

router = APIRouter(prefix="/v1", tags=["standards"])

Ident = Annotated[str, Path(min_length=1, max_length=64)]
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": v1.ErrorBody, "description": "not signed in"},
    403: {"model": v1.ErrorBody, "description": "the role may not read CAP or EIDO"},
    404: {"model": v1.ErrorBody, "description": "no such alert, school or agency (or not yours)"},
}


def _xml(media_type: str) -> dict[int | str, dict[str, Any]]:
    return {200: {"content": {media_type: {}}, "description": "OK"}, **_ERRORS}


def _service(ctx: HttpContext) -> InteropService:
    if ctx.interop is None:
        raise NotFound("standards export", "cap")
    return ctx.interop


def _alert_link(request: Request, alert_id: str) -> str:
    return str(request.url_for("alert_cap", alert_id=alert_id))


def _feed_response(request: Request, feed: CapFeed) -> Response:
    body = atom_feed(
        feed_id=f"urn:alertd:feed:{request.url.path}",
        title=feed.title,
        self_link=str(request.url),
        updated=feed.updated,
        entries=[FeedEntry(m, _alert_link(request, m.alert_id)) for m in feed.messages],
    )
    return Response(body, media_type=ATOM_MEDIA_TYPE)


@router.get(
    "/alerts/{alert_id}/cap",
    name="alert_cap",
    response_class=Response,
    responses=_xml(CAP_MEDIA_TYPE),
    summary="The alert's latest state as a CAP 1.2 message",
)
async def alert_cap(alert_id: Ident, ctx: Ctx, principal: Who) -> Response:
    messages = await _service(ctx).cap(alert_id, principal=principal)
    return Response(cap_xml(messages[-1]), media_type=CAP_MEDIA_TYPE)


@router.get(
    "/alerts/{alert_id}/cap/messages",
    response_class=Response,
    responses=_xml(ATOM_MEDIA_TYPE),
    summary="Every CAP message of the alert, oldest first, as an Atom feed",
)
async def alert_cap_messages(
    alert_id: Ident, request: Request, ctx: Ctx, principal: Who
) -> Response:
    messages = await _service(ctx).cap(alert_id, principal=principal)
    feed = CapFeed(f"alertd CAP messages of alert {alert_id}", messages, messages[-1].sent)
    return _feed_response(request, feed)


@router.get(
    "/alerts/{alert_id}/eido",
    responses=_ERRORS,
    summary="The alert as a NENA EIDO incident (JSON, NENA-STA-021 structure)",
)
async def alert_eido(alert_id: Ident, ctx: Ctx, principal: Who) -> OrjsonResponse:
    return OrjsonResponse(await _service(ctx).eido(alert_id, principal=principal))


@router.get(
    "/schools/{school_id}/cap.atom",
    response_class=Response,
    responses=_xml(ATOM_MEDIA_TYPE),
    summary="A school's CAP feed: the latest message of each recent alert",
)
async def school_feed(school_id: Ident, request: Request, ctx: Ctx, principal: Who) -> Response:
    return _feed_response(request, await _service(ctx).school_feed(school_id, principal=principal))


@router.get(
    "/agencies/{agency_id}/cap.atom",
    response_class=Response,
    responses=_xml(ATOM_MEDIA_TYPE),
    summary="An agency's CAP feed: the latest message of each recent alert at its schools",
)
async def agency_feed(agency_id: Ident, request: Request, ctx: Ctx, principal: Who) -> Response:
    return _feed_response(request, await _service(ctx).agency_feed(agency_id, principal=principal))
