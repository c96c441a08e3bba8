"""Devices (wall buttons, badges, kiosks): the signed-request authenticator, and /v1/devices
for admins. HTTP in, `DeviceService` out.

- `authenticate_device`, an authenticator for `deps.current_principal`: it reads the
  X-Device-* headers and the body (see `alertd.core.device_signature` for the protocol) and
  asks the service for the device's principal. A wall button's principal carries its room.
- /v1/devices: register a device (its secret is returned once), list a school's devices
  (with when each was last seen), rotate a secret (the old one stays valid for
  `settings.device_secret_grace_hours`), disable a device. Every change is audited.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from starlette.requests import HTTPConnection, Request

from alertd.adapters.http.deps import Ctx, HttpContext, Who
from alertd.adapters.http.response import OrjsonResponse
from alertd.adapters.wire import accounts as wire
from alertd.adapters.wire import v1
from alertd.app.account_ports import DeviceRecord
from alertd.app.devices import REFUSALS, DeviceSecret
from alertd.core.device_signature import DEVICE_ID_PATTERN, SignatureCheck, SignedRequest
from alertd.core.errors import Unauthenticated
from alertd.core.permission import Principal

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/devices", tags=["devices"])

DeviceId = Annotated[str, Path(min_length=1, max_length=64)]

DEVICE_ID_HEADER = "x-device-id"
TIMESTAMP_HEADER = "x-device-timestamp"
NONCE_HEADER = "x-device-nonce"
SIGNATURE_HEADER = "x-device-signature"
_HEADERS = (DEVICE_ID_HEADER, TIMESTAMP_HEADER, NONCE_HEADER, SIGNATURE_HEADER)
_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")
_PRINCIPAL_STATE = "alertd_device_principal"
SIGNED_AT_STATE = "alertd_device_signed_at"
# Device requests whose Idempotency-Key may bind them to their nonce: only raising, which
# answers a repeated key with the alert it already opened (see `core.device_signature`).
_RETRY_SAFE = frozenset({("POST", "/v1/alerts")})


async def authenticate_device(connection: HTTPConnection, ctx: HttpContext) -> Principal | None:
    """The device that signed this HTTP request, None when it carries no X-Device-* header.

    Raises Unauthenticated when any X-Device-* header is present but the credentials fail
    (see `DeviceService.authenticate`). Reads (and Starlette caches) the request body, which
    the signature covers. A second call for the same request returns the principal found by
    the first instead of seeing its nonce as a replay. WebSockets are never devices.
    """
    if connection.scope["type"] != "http" or not isinstance(connection, Request):
        return None
    headers = connection.headers
    if not any(name in headers for name in _HEADERS):
        return None  # before the state: a missing attribute there costs an exception
    cached: Principal | None = getattr(connection.state, _PRINCIPAL_STATE, None)
    if cached is not None:
        return cached
    if not all(name in headers for name in _HEADERS):
        raise Unauthenticated("a device request needs X-Device-Id, -Timestamp, -Nonce, -Signature")
    device_id, timestamp = headers[DEVICE_ID_HEADER], headers[TIMESTAMP_HEADER]
    if not DEVICE_ID_PATTERN.fullmatch(device_id) or not _TIMESTAMP.fullmatch(timestamp):
        raise Unauthenticated(REFUSALS[SignatureCheck.MALFORMED])
    request = SignedRequest(
        device_id=device_id,
        method=connection.method,
        path=_path_as_sent(connection),
        timestamp=int(timestamp),
        nonce=headers[NONCE_HEADER],
        body=await connection.body(),
    )
    retry_safe = (connection.method, connection.scope["path"]) in _RETRY_SAFE
    try:
        principal = await ctx.devices.authenticate(
            request,
            signature=headers[SIGNATURE_HEADER],
            retry_key=headers.get("idempotency-key") if retry_safe else None,
        )
    except Unauthenticated as refusal:
        logger.warning("device request refused: %s (device %s)", refusal.message, device_id)
        raise
    setattr(connection.state, _PRINCIPAL_STATE, principal)
    setattr(connection.state, SIGNED_AT_STATE, datetime.fromtimestamp(request.timestamp, UTC))
    return principal


def device_signed_at(connection: HTTPConnection) -> datetime | None:
    """When the device signed this request (its own clock), None if no device signed it."""
    signed_at: datetime | None = getattr(connection.state, SIGNED_AT_STATE, None)
    return signed_at


def _path_as_sent(connection: Request) -> str:
    """The request target as the device sent it: the raw path, then "?query" if any."""
    raw_path: bytes = connection.scope.get("raw_path") or connection.scope["path"].encode()
    path = raw_path.split(b"?", 1)[0].decode("latin-1")
    query: bytes = connection.scope.get("query_string", b"")
    return f"{path}?{query.decode('latin-1')}" if query else path


# --- the admin API ----------------------------------------------------------------------------

_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"model": v1.ErrorBody, "description": "not an admin of the device's school"},
    404: {"model": v1.ErrorBody, "description": "no such device or school"},
}


def _device_out(record: DeviceRecord) -> dict[str, Any]:
    device = record.device
    return wire.DeviceOut(
        id=device.id,
        name=device.name,
        kind=device.kind,
        school_id=device.school_id,
        room_id=device.room_id,
        user_id=device.user_id,
        disabled=device.disabled,
        created_at=device.created_at,
        last_seen_at=record.last_seen_at,
    ).model_dump(mode="json")


def _secret_out(issued: DeviceSecret, record: DeviceRecord | None = None) -> dict[str, Any]:
    shown = record or DeviceRecord(issued.device, "", None, None)
    return {
        "device": _device_out(shown),
        "secret": issued.secret,
        "old_secret_valid_until": (
            issued.old_valid_until.isoformat() if issued.old_valid_until else None
        ),
    }


@router.post(
    "",
    status_code=201,
    response_model=wire.DeviceSecretOut,
    responses={**_ERRORS, 422: {"model": v1.ErrorBody, "description": "invalid binding"}},
    summary="Register a device; its secret is returned this once",
)
async def create_device(body: wire.DeviceIn, ctx: Ctx, principal: Who) -> OrjsonResponse:
    issued = await ctx.devices.register(
        principal=principal,
        device_id=body.id,
        name=body.name,
        kind=body.kind,
        school_id=body.school_id,
        room_id=body.room_id,
        user_id=body.user_id,
        heartbeat_interval=(
            timedelta(seconds=body.heartbeat_interval_seconds)
            if body.heartbeat_interval_seconds is not None
            else None
        ),
    )
    return OrjsonResponse(_secret_out(issued), status_code=201)


@router.get(
    "",
    response_model=wire.DeviceList,
    responses=_ERRORS,
    summary="The devices of one school, disabled ones included, with when each was last seen",
)
async def list_devices(
    ctx: Ctx, principal: Who, school: Annotated[str, Query(min_length=1, max_length=64)]
) -> OrjsonResponse:
    found = await ctx.devices.list_devices(principal=principal, school_id=school)
    return OrjsonResponse({"devices": [_device_out(d) for d in found]})


@router.post(
    "/{device_id}/rotate",
    response_model=wire.DeviceSecretOut,
    responses=_ERRORS,
    summary="Give a device a new secret; the old one stays valid for the grace period",
)
async def rotate_secret(device_id: DeviceId, ctx: Ctx, principal: Who) -> OrjsonResponse:
    issued = await ctx.devices.rotate(device_id, principal=principal)
    return OrjsonResponse(_secret_out(issued))


@router.delete(
    "/{device_id}",
    status_code=204,
    responses=_ERRORS,
    summary="Disable a device: its signatures are refused from now on",
)
async def disable_device(device_id: DeviceId, ctx: Ctx, principal: Who) -> None:
    await ctx.devices.disable(device_id, principal=principal)


@router.post(
    "/heartbeat",
    response_model=wire.HeartbeatOut,
    responses={
        403: {"model": v1.ErrorBody, "description": "not a signed device"},
        422: {"model": v1.ErrorBody, "description": "invalid interval or battery level"},
    },
    summary="A signed device's heartbeat: silent past its interval, or low on battery, it "
    "raises a DeviceTrouble notice on the consoles' stream",
)
async def heartbeat(body: wire.HeartbeatIn, ctx: Ctx, principal: Who) -> OrjsonResponse:
    answer = await ctx.supervision.heartbeat(
        principal=principal,
        interval=timedelta(seconds=body.interval_seconds),
        battery_percent=body.battery_percent,
    )
    health = answer.health
    out = wire.HeartbeatOut(
        device_id=health.device_id,
        silent_after=health.due_at,
        battery_percent=health.battery_percent,
        low_battery=health.low_battery,
    )
    return OrjsonResponse(out.model_dump(mode="json"))
