"""Devices (wall buttons, badges, kiosks): signed requests, registration, secret rotation.

Two halves:

- `authenticate_device`, an authenticator for `deps.current_principal`: it checks the
  X-Device-* headers (see `alertd.core.device_signature` for the protocol) and answers with
  the device's Principal. A wall button's principal carries its room, so the alert service
  raises its alerts in that room and nowhere else.
- /v1/devices, for admins (Action.MANAGE_DEVICES at the device's school): register a device
  (its secret is returned once), list a school's devices, rotate a secret (the old one stays
  valid for `settings.device_secret_grace_hours`), disable a device. Every change is audited.
"""

from __future__ import annotations

import logging
import re
import uuid
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection
from starlette.requests import HTTPConnection, Request

from alertd.adapters.db import devices as device_rows
from alertd.adapters.db.audit import append_audit
from alertd.adapters.db.engine import Database
from alertd.adapters.http.deps import Ctx, HttpContext, Who
from alertd.adapters.http.response import OrjsonResponse
from alertd.adapters.wire import v1
from alertd.app.service import require
from alertd.core.audit import AuditEntry
from alertd.core.device import Device, DeviceKind, check_binding
from alertd.core.device_signature import (
    DEVICE_ID_PATTERN,
    SignatureCheck,
    SignedRequest,
    check,
)
from alertd.core.errors import NotFound, Unauthenticated, ValidationFailed
from alertd.core.permission import Action, Principal, authorize
from alertd.settings import Settings

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

# What a refused device is told. Never the signature, the secret or the expected values.
_REFUSALS = {
    SignatureCheck.MALFORMED: "malformed device credentials",
    SignatureCheck.BAD_SIGNATURE: "device signature does not check out",
    SignatureCheck.STALE_TIMESTAMP: "device timestamp too far from server time: check its clock",
}
_REPLAY = "device nonce already used: every request needs a fresh nonce"


async def authenticate_device(connection: HTTPConnection, ctx: HttpContext) -> Principal | None:
    """The device that signed this HTTP request, None when it carries no X-Device-* header.

    Raises Unauthenticated when any X-Device-* header is present but the credentials fail:
    an unknown or disabled device, a forged signature, a timestamp more than
    `settings.device_clock_skew_seconds` from the server clock, or a nonce already used.
    Reads (and Starlette caches) the request body, which the signature covers. Records the
    nonce in its own transaction, so a second call for the same request returns the principal
    found by the first instead of seeing a replay. WebSockets are never device-authenticated.
    """
    if connection.scope["type"] != "http" or not isinstance(connection, Request):
        return None
    cached: Principal | None = getattr(connection.state, _PRINCIPAL_STATE, None)
    if cached is not None:
        return cached
    headers = connection.headers
    if not any(name in headers for name in _HEADERS):
        return None
    if not all(name in headers for name in _HEADERS):
        raise Unauthenticated("a device request needs X-Device-Id, -Timestamp, -Nonce, -Signature")
    device_id, timestamp = headers[DEVICE_ID_HEADER], headers[TIMESTAMP_HEADER]
    if not DEVICE_ID_PATTERN.fullmatch(device_id) or not _TIMESTAMP.fullmatch(timestamp):
        raise Unauthenticated(_REFUSALS[SignatureCheck.MALFORMED])
    request = SignedRequest(
        device_id=device_id,
        method=connection.method,
        path=_path_as_sent(connection),
        timestamp=int(timestamp),
        nonce=headers[NONCE_HEADER],
        body=await connection.body(),
    )
    db: Database = ctx.db
    settings: Settings = ctx.settings
    stored = await db.read(lambda conn: device_rows.get_device(conn, device_id))
    if stored is None or stored.device.disabled:
        logger.warning("device request refused: unknown or disabled device %s", device_id)
        raise Unauthenticated(_REFUSALS[SignatureCheck.BAD_SIGNATURE])
    now = ctx.clock.now()
    max_skew = timedelta(seconds=settings.device_clock_skew_seconds)
    outcome = check(
        request,
        signature=headers[SIGNATURE_HEADER],
        secrets=stored.secrets(settings.secret_key.get_secret_value()),
        now=now,
        max_skew=max_skew,
    )
    if outcome is not SignatureCheck.OK:
        logger.warning("device request refused: %s from device %s", outcome.value, device_id)
        raise Unauthenticated(_REFUSALS[outcome])

    def record(conn: Connection) -> bool:
        return device_rows.record_nonce(
            conn, device_id=device_id, nonce=request.nonce, now=now, max_skew=max_skew
        )

    async with db.write() as session:
        fresh = await session.run(record)
    if not fresh:
        logger.warning("device request refused: replayed nonce from device %s", device_id)
        raise Unauthenticated(_REPLAY)
    principal = stored.device.principal()
    setattr(connection.state, _PRINCIPAL_STATE, principal)
    return principal


def _path_as_sent(connection: Request) -> str:
    """The request target as the device sent it: the raw path, then "?query" if any."""
    raw_path: bytes = connection.scope.get("raw_path") or connection.scope["path"].encode()
    path = raw_path.split(b"?", 1)[0].decode("latin-1")
    query: bytes = connection.scope.get("query_string", b"")
    return f"{path}?{query.decode('latin-1')}" if query else path


# --- the admin API ----------------------------------------------------------------------------


class DeviceIn(BaseModel):
    """Register a device. A wall button needs `room_id`; a badge needs `user_id`."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(
        default=None,
        pattern=DEVICE_ID_PATTERN.pattern,
        description="the device's own id (its serial number); generated when absent",
    )
    name: str = Field(min_length=1, max_length=200)
    kind: DeviceKind
    school_id: str = Field(min_length=1, max_length=64)
    room_id: str | None = Field(default=None, min_length=1, max_length=64)
    user_id: str | None = Field(default=None, min_length=1, max_length=36)


class DeviceOut(BaseModel):
    id: str
    name: str
    kind: DeviceKind
    school_id: str
    room_id: str | None
    user_id: str | None
    disabled: bool
    created_at: str


class DeviceList(BaseModel):
    devices: list[DeviceOut]


class DeviceSecretOut(BaseModel):
    """A device and its secret. The secret is shown this once: nothing can show it again."""

    device: DeviceOut
    secret: str = Field(description="the HMAC key, as UTF-8; shown once")


_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"model": v1.ErrorBody, "description": "not an admin of the device's school"},
    404: {"model": v1.ErrorBody, "description": "no such device or school"},
}


def _device_dict(device: Device) -> dict[str, Any]:
    return {
        "id": device.id,
        "name": device.name,
        "kind": device.kind.value,
        "school_id": device.school_id,
        "room_id": device.room_id,
        "user_id": device.user_id,
        "disabled": device.disabled,
        "created_at": device.created_at.isoformat(),
    }


def _audit(
    principal: Principal, action: str, device: Device, *, at: datetime, **detail: Any
) -> AuditEntry:
    """The audit entry for a change to `device`. `detail` never holds a secret."""
    return AuditEntry.by(
        principal, action, at=at, school_id=device.school_id, subject=device.id, detail=detail
    )


def _require_manage(principal: Principal, *, school_id: str, what: str, ident: str) -> None:
    verdict = authorize(principal, Action.MANAGE_DEVICES, school_id=school_id)
    require(verdict, what=what, ident=ident, action=Action.MANAGE_DEVICES)


@router.post(
    "",
    status_code=201,
    response_model=DeviceSecretOut,
    responses={**_ERRORS, 422: {"model": v1.ErrorBody, "description": "invalid binding"}},
    summary="Register a device; its secret is returned this once",
)
async def create_device(body: DeviceIn, ctx: Ctx, principal: Who) -> OrjsonResponse:
    _require_manage(principal, school_id=body.school_id, what="school", ident=body.school_id)
    check_binding(body.kind, room_id=body.room_id, user_id=body.user_id)
    device = Device(
        id=body.id or f"dev-{uuid.uuid4().hex}",
        name=body.name,
        kind=body.kind,
        school_id=body.school_id,
        room_id=body.room_id,
        user_id=body.user_id,
        disabled=False,
        created_at=ctx.clock.now(),
    )
    server_key = ctx.settings.secret_key.get_secret_value()

    def create(conn: Connection) -> str:
        _check_binding_exists(conn, device)
        secret = device_rows.create_device(conn, device=device, server_key=server_key)
        entry = _audit(
            principal,
            "device.create",
            device,
            at=device.created_at,
            name=device.name,
            kind=device.kind.value,
            room_id=device.room_id,
            user_id=device.user_id,
        )
        append_audit(conn, [entry])
        return secret

    async with ctx.db.write() as session:
        secret = await session.run(create)
    return OrjsonResponse({"device": _device_dict(device), "secret": secret}, status_code=201)


def _check_binding_exists(conn: Connection, device: Device) -> None:
    """The school exists, the room is one of its rooms, and the person may wear its badge."""
    if not device_rows.school_exists(conn, device.school_id):
        raise NotFound("school", device.school_id)
    if device.room_id is not None:
        if device_rows.school_of_room(conn, device.room_id) != device.school_id:
            raise ValidationFailed("room_id", f"no room {device.room_id!r} in this school")
    if device.user_id is not None and not device_rows.person_may_wear_badge_at(
        conn, user_id=device.user_id, school_id=device.school_id
    ):
        raise ValidationFailed("user_id", f"no person {device.user_id!r} at this school")


@router.get(
    "",
    response_model=DeviceList,
    responses=_ERRORS,
    summary="The devices of one school, disabled ones included",
)
async def list_devices(
    ctx: Ctx, principal: Who, school: Annotated[str, Query(min_length=1, max_length=64)]
) -> OrjsonResponse:
    _require_manage(principal, school_id=school, what="school", ident=school)
    devices = await ctx.db.read(lambda conn: device_rows.list_devices(conn, school))
    return OrjsonResponse({"devices": [_device_dict(d) for d in devices]})


@router.post(
    "/{device_id}/rotate",
    response_model=DeviceSecretOut,
    responses=_ERRORS,
    summary="Give a device a new secret; the old one stays valid for the grace period",
)
async def rotate_secret(device_id: DeviceId, ctx: Ctx, principal: Who) -> OrjsonResponse:
    now = ctx.clock.now()
    grace = timedelta(hours=ctx.settings.device_secret_grace_hours)
    server_key = ctx.settings.secret_key.get_secret_value()

    def rotate(conn: Connection) -> tuple[Device, str]:
        device = _managed_device(conn, principal, device_id)
        secret = device_rows.rotate_secret(
            conn, device_id=device_id, server_key=server_key, now=now, grace=grace
        )
        old_valid_until = (now + grace).isoformat() if grace else None
        entry = _audit(
            principal, "device.rotate_secret", device, at=now, old_valid_until=old_valid_until
        )
        append_audit(conn, [entry])
        return device, secret

    async with ctx.db.write() as session:
        device, secret = await session.run(rotate)
    return OrjsonResponse({"device": _device_dict(device), "secret": secret})


@router.delete(
    "/{device_id}",
    status_code=204,
    responses=_ERRORS,
    summary="Disable a device: its signatures are refused from now on",
)
async def disable_device(device_id: DeviceId, ctx: Ctx, principal: Who) -> None:
    now = ctx.clock.now()

    def disable(conn: Connection) -> None:
        device = _managed_device(conn, principal, device_id)
        if device_rows.disable_device(conn, device_id):
            append_audit(conn, [_audit(principal, "device.disable", device, at=now)])

    async with ctx.db.write() as session:
        await session.run(disable)


def _managed_device(conn: Connection, principal: Principal, device_id: str) -> Device:
    """The device, if `principal` may manage it; NotFound if it is absent or not theirs."""
    stored = device_rows.get_device(conn, device_id)
    if stored is None:
        raise NotFound("device", device_id)
    _require_manage(principal, school_id=stored.device.school_id, what="device", ident=device_id)
    return stored.device
