"""/v1/cameras: the camera registry, view tokens, and each camera's WHEP endpoint.

WHEP (RFC 9725, the WebRTC-HTTP Egress Protocol): POST an SDP offer (`application/sdp`)
with `Authorization: Bearer <view token>` to the camera's WHEP URL; the answer is `201`
with the SDP answer and the session's `Location`. DELETE on that location ends the
session; PATCH with `application/trickle-ice-sdpfrag` adds trickled candidates. ICE
restarts are not supported (alertd gathers all of its candidates before answering): such
a PATCH gets 405.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request
from starlette.responses import Response

from alertd.adapters.http.deps import Ctx, Who
from alertd.adapters.http.response import OrjsonResponse
from alertd.adapters.wire import v1
from alertd.adapters.wire.cameras import CameraList, SourceIn, ViewTokenOut
from alertd.app.cameras import CameraListing
from alertd.core.errors import Malformed, Unauthenticated, ValidationFailed

router = APIRouter(prefix="/v1/cameras", tags=["cameras"])

CameraId = Annotated[str, Path(min_length=1, max_length=64)]
SessionId = Annotated[str, Path(min_length=1, max_length=64)]
_ERR: dict[int | str, dict[str, Any]] = {
    401: {"model": v1.ErrorBody, "description": "not signed in, or no valid view token"},
    403: {"model": v1.ErrorBody, "description": "the role may not do this"},
    404: {"model": v1.ErrorBody, "description": "no such camera (or not in your schools)"},
}
_MAX_OFFER = 64 * 1024
_SDP = "application/sdp"
_TRICKLE = "application/trickle-ice-sdpfrag"


def _whep_url(camera_id: str) -> str:
    return f"/v1/cameras/{camera_id}/whep"


def _camera_json(listing: CameraListing) -> dict[str, Any]:
    camera = listing.placed.camera
    return {
        "version": 1,
        "id": camera.id,
        "name": camera.name,
        "school_id": listing.placed.school_id,
        "building_id": listing.placed.building_id,
        "floor_id": listing.placed.floor_id,
        "position": list(camera.position),
        "room_ids": list(camera.room_ids),
        "covers_room": listing.covers_room,
        "source_kind": listing.source_kind.value if listing.source_kind else None,
        "source_url": listing.source_url,
        "has_credentials": listing.has_credentials,
        "viewable": listing.viewable,
        "online": listing.online,
        "viewers": listing.viewers,
        "whep_url": _whep_url(camera.id),
        "view_token_url": f"/v1/cameras/{camera.id}/view-token",
    }


@router.get(
    "",
    response_model=CameraList,
    responses=_ERR,
    summary="A school's cameras, those covering a room first",
    description="With `room_id`: the cameras covering that room, then the others on its "
    "floor (nearest first), then the rest. Each gives its WHEP URL. To watch one, a "
    "school's SRO or dispatcher POSTs to its `view_token_url` (signed in as usual) and "
    "sends the token it gets as `Authorization: Bearer <token>` with the WHEP offer; a "
    "token lasts about two minutes and opens one session.",
)
async def list_cameras(
    ctx: Ctx,
    principal: Who,
    school_id: Annotated[str, Query(min_length=1, max_length=64)],
    room_id: Annotated[str | None, Query(max_length=64)] = None,
) -> OrjsonResponse:
    listings = await ctx.cameras.list_cameras(
        principal=principal, school_id=school_id, room_id=room_id
    )
    return OrjsonResponse({"version": 1, "cameras": [_camera_json(c) for c in listings]})


@router.put(
    "/{camera_id}/source",
    responses={**_ERR, 422: {"model": v1.ErrorBody, "description": "invalid source"}},
    summary="Register a camera's video source (admins); credentials are never returned",
)
async def set_source(camera_id: CameraId, body: SourceIn, ctx: Ctx, principal: Who) -> Any:
    listing = await ctx.cameras.set_source(
        principal=principal,
        camera_id=camera_id,
        url=body.url,
        username=body.username,
        password=body.password.get_secret_value() if body.password is not None else None,
    )
    return OrjsonResponse(_camera_json(listing))


@router.delete(
    "/{camera_id}/source", status_code=204, responses=_ERR, summary="Forget a camera's source"
)
async def remove_source(camera_id: CameraId, ctx: Ctx, principal: Who) -> Response:
    await ctx.cameras.remove_source(principal=principal, camera_id=camera_id)
    return Response(status_code=204)


@router.post(
    "/{camera_id}/view-token",
    response_model=ViewTokenOut,
    responses=_ERR,
    summary="A short-lived token to watch this camera over WHEP (its school's SROs and "
    "dispatchers)",
)
async def view_token(camera_id: CameraId, ctx: Ctx, principal: Who) -> OrjsonResponse:
    issued = await ctx.cameras.issue_view_token(principal=principal, camera_id=camera_id)
    return OrjsonResponse(
        {
            "version": 1,
            "token": issued.token,
            "expires_at": issued.expires_at.isoformat(),
            "camera_id": camera_id,
            "whep_url": _whep_url(camera_id),
        }
    )


def _bearer(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated(
            "send a camera view token: Authorization: Bearer <token>", field="Authorization"
        )
    return token.strip()


async def _body(request: Request, *, media_type: str) -> str:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != media_type:
        raise ValidationFailed("Content-Type", f"send {media_type}")
    raw = await request.body()
    if len(raw) > _MAX_OFFER:
        raise Malformed("offer", "the body is too large")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Malformed("offer", "the body is not UTF-8") from None


@router.post(
    "/{camera_id}/whep",
    status_code=201,
    response_class=Response,
    responses={
        201: {"content": {_SDP: {}}, "description": "the SDP answer; Location: the session"},
        400: {"model": v1.ErrorBody, "description": "the SDP offer is malformed"},
        **_ERR,
    },
    summary="WHEP: start watching (SDP offer in, SDP answer out)",
    openapi_extra={
        "requestBody": {"required": True, "content": {_SDP: {"schema": {"type": "string"}}}}
    },
)
async def whep_offer(
    camera_id: CameraId,
    request: Request,
    ctx: Ctx,
    authorization: Annotated[str | None, Header()] = None,
) -> Response:
    token = _bearer(authorization)
    offer = await _body(request, media_type=_SDP)
    session = await ctx.cameras.start_view(token=token, camera_id=camera_id, offer_sdp=offer)
    location = f"{_whep_url(camera_id)}/{session.session_id}"
    return Response(
        session.answer_sdp,
        status_code=201,
        media_type=_SDP,
        headers={"Location": location, "ETag": f'"{session.session_id}"'},
    )


@router.delete(
    "/{camera_id}/whep/{session_id}",
    status_code=200,
    response_class=Response,
    responses=_ERR,
    summary="WHEP: stop watching",
)
async def whep_delete(camera_id: CameraId, session_id: SessionId, ctx: Ctx) -> Response:
    await ctx.cameras.end_view(camera_id=camera_id, session_id=session_id)
    return Response(status_code=200)


@router.patch(
    "/{camera_id}/whep/{session_id}",
    status_code=204,
    response_class=Response,
    responses={**_ERR, 405: {"description": "an ICE restart (not supported)"}},
    summary="WHEP: trickle ICE candidates (application/trickle-ice-sdpfrag)",
)
async def whep_patch(
    camera_id: CameraId, session_id: SessionId, request: Request, ctx: Ctx
) -> Response:
    fragment = await _body(request, media_type=_TRICKLE)
    mid: str | None = None
    candidates: list[tuple[str, str | None]] = []
    restart = False
    for line in fragment.splitlines():
        line = line.strip()
        if line.startswith("a=mid:"):
            mid = line.removeprefix("a=mid:")
        elif line.startswith("a=candidate:"):
            candidates.append((line.removeprefix("a="), mid))
        elif line.startswith("a=ice-ufrag:") and request.headers.get("if-match") == "*":
            restart = True
    if restart:
        # An ICE restart needs a new answer; this server gathers every candidate up front.
        return Response(status_code=405, headers={"Allow": "POST, DELETE"})
    await ctx.cameras.trickle(camera_id=camera_id, session_id=session_id, candidates=candidates)
    return Response(status_code=204)
