"""Use cases on devices (wall buttons, badges, kiosks): register, list, rotate a secret,
disable, and authenticate a signed request.

Admins manage the devices of their schools (Action.MANAGE_DEVICES at the device's school).
A device's secret is derived from the server key and a stored salt
(`alertd.core.device_signature`), returned once at registration and at each rotation; the
old secret stays valid for the grace period. Every change is audited.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from alertd.app.account_ports import AccountStore, AccountTransaction, DeviceRecord
from alertd.app.ports import Clock
from alertd.app.service import require
from alertd.core.audit import AuditEntry
from alertd.core.device import Device, DeviceKind, check_binding
from alertd.core.device_signature import (
    SignatureCheck,
    SignedRequest,
    check,
    derive_device_secret,
    is_bound_retry,
)
from alertd.core.errors import NotFound, Unauthenticated, ValidationFailed
from alertd.core.permission import Action, Principal, authorize
from alertd.core.supervision import DeviceHealth, Heartbeat, supervised_from

# What a refused device is told. Never the signature, the secret or the expected values.
REFUSALS = {
    SignatureCheck.MALFORMED: "malformed device credentials",
    SignatureCheck.BAD_SIGNATURE: "device signature does not check out",
    SignatureCheck.STALE_TIMESTAMP: "device timestamp too far from server time: check its clock",
}
REPLAY = "device nonce already used: every request needs a fresh nonce"


@dataclass(frozen=True, slots=True)
class DeviceSecret:
    """A device and its new secret: shown this once."""

    device: Device
    secret: str = field(repr=False)
    old_valid_until: datetime | None = None


class DeviceService:
    def __init__(
        self,
        *,
        store: AccountStore,
        clock: Clock,
        server_key: str,
        max_skew: timedelta,
        secret_grace: timedelta,
        buffer_max_age: timedelta | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._server_key = server_key
        self._max_skew = max_skew
        self._grace = secret_grace
        # How old a bound retry (a press a bridge kept through an outage) may be.
        self._buffer_max_age = buffer_max_age or max_skew

    def __repr__(self) -> str:  # the server key never shows
        return "DeviceService()"

    async def register(
        self,
        *,
        principal: Principal,
        name: str,
        kind: DeviceKind,
        school_id: str,
        room_id: str | None = None,
        user_id: str | None = None,
        device_id: str | None = None,
        heartbeat_interval: timedelta | None = None,
    ) -> DeviceSecret:
        """Register a device bound to a room (wall button, kiosk) or a person (badge).
        NotFound for a school outside the admin's; ValidationFailed names a bad binding.

        With `heartbeat_interval`, the device is supervised from now on: if its first
        heartbeat does not come within the interval, it is reported silent."""
        _require_manage(principal, school_id=school_id, what="school", ident=school_id)
        check_binding(kind, room_id=room_id, user_id=user_id)
        now = self._clock.now()
        device = Device(
            id=device_id or f"dev-{uuid.uuid4().hex}",
            name=name.strip(),
            kind=kind,
            school_id=school_id,
            room_id=room_id,
            user_id=user_id,
            disabled=False,
            created_at=now,
        )
        record = DeviceRecord(device, secrets.token_hex(16), None, None)
        async with self._store.transaction() as tx:
            if not await tx.known_schools([school_id]):
                raise NotFound("school", school_id)
            if room_id is not None and await tx.school_of_room(room_id) != school_id:
                raise ValidationFailed("room_id", f"no room {room_id!r} in this school")
            if user_id is not None:
                wearer = await tx.account(user_id)
                at_school = wearer is not None and (
                    not wearer.school_ids or school_id in wearer.school_ids
                )
                if wearer is None or wearer.disabled or not at_school:
                    raise ValidationFailed("user_id", f"no person {user_id!r} at this school")
            if not await tx.add_device(record):
                raise ValidationFailed("id", f"a device with id {device.id!r} already exists")
            if heartbeat_interval is not None:
                await tx.supervise(_first_expected(device, heartbeat_interval, now))
            detail = {
                "name": device.name,
                "kind": kind.value,
                "room_id": room_id,
                "user_id": user_id,
                "heartbeat_interval_seconds": (
                    int(heartbeat_interval.total_seconds()) if heartbeat_interval else None
                ),
            }
            await tx.audit([_entry(principal, "device.create", device, now, detail)])
        return DeviceSecret(device, self._secret(device.id, record.secret_salt))

    async def list_devices(self, *, principal: Principal, school_id: str) -> list[DeviceRecord]:
        """Every device of the school, disabled ones included, by id."""
        _require_manage(principal, school_id=school_id, what="school", ident=school_id)
        return await self._store.devices(school_id)

    async def rotate(self, device_id: str, *, principal: Principal) -> DeviceSecret:
        """A new secret; the old one stays valid for the grace period (not at all when the
        grace is zero). Only one previous secret is kept."""
        now = self._clock.now()
        keep_previous = self._grace > timedelta(0)
        async with self._store.transaction() as tx:
            record = await self._managed(tx, device_id, principal)
            rotated = replace(
                record,
                secret_salt=secrets.token_hex(16),
                previous_secret_salt=record.secret_salt if keep_previous else None,
                previous_valid_until=now + self._grace if keep_previous else None,
            )
            await tx.save_device(rotated)
            until = rotated.previous_valid_until
            detail = {"old_valid_until": until.isoformat() if until else None}
            await tx.audit([_entry(principal, "device.rotate_secret", record.device, now, detail)])
        secret = self._secret(device_id, rotated.secret_salt)
        return DeviceSecret(record.device, secret, until)

    async def disable(self, device_id: str, *, principal: Principal) -> None:
        """From now on the device's signatures are refused. Disabling twice changes nothing."""
        now = self._clock.now()
        async with self._store.transaction() as tx:
            record = await self._managed(tx, device_id, principal)
            if record.device.disabled:
                return
            device = replace(record.device, disabled=True)
            await tx.save_device(replace(record, device=device))
            await tx.audit([_entry(principal, "device.disable", device, now, {})])

    async def authenticate(
        self, request: SignedRequest, *, signature: str, retry_key: str | None = None
    ) -> Principal:
        """The principal of the device that signed `request`. Raises Unauthenticated for an
        unknown or disabled device, a forged signature, a timestamp further than the skew
        from the server clock, or a nonce already used (each refusal says which, never
        the secret). Records the nonce and when the device was last seen.

        `retry_key` is the Idempotency-Key of a raise (None for any other request). When it
        is bound to the nonce, the request is a bound retry (`core.device_signature`): it may
        be as old as the bridge's buffer allows and may repeat its nonce, because the raise
        answers a repeat with the alert it already opened. So a press survives an outage, and
        a crash between recording the nonce and committing the alert. A bound retry whose
        nonce is spent and whose key has raised its alert is still a replay, and refused."""
        record = await self._store.device(request.device_id)
        if record is None or record.device.disabled:
            raise Unauthenticated(REFUSALS[SignatureCheck.BAD_SIGNATURE])
        now = self._clock.now()
        bound_retry = is_bound_retry(request, retry_key)
        outcome = check(
            request,
            signature=signature,
            secrets=record.secrets(self._server_key),
            now=now,
            max_skew=self._max_skew,
            max_age=self._buffer_max_age if bound_retry else None,
        )
        if outcome is not SignatureCheck.OK:
            raise Unauthenticated(REFUSALS[outcome])
        principal = record.device.principal()
        async with self._store.transaction() as tx:
            fresh = await tx.use_nonce(
                request.device_id, request.nonce, now=now, forget_before=now - 2 * self._max_skew
            )
            # A spent nonce is forgiven only to a press that never got its alert (a crash
            # came between the two commits); its raise then dedupes on the key.
            unfinished = (
                not fresh
                and bound_retry
                and not await tx.key_raised(scope=principal.actor.id, key=retry_key or "")
            )
        if not fresh and not unfinished:
            raise Unauthenticated(REPLAY)
        return principal

    def _secret(self, device_id: str, salt: str) -> str:
        return derive_device_secret(server_key=self._server_key, device_id=device_id, salt=salt)

    async def _managed(
        self, tx: AccountTransaction, device_id: str, principal: Principal
    ) -> DeviceRecord:
        """The device, if `principal` may manage it; NotFound if absent or not theirs."""
        record = await tx.device(device_id)
        if record is None:
            raise NotFound("device", device_id)
        school = record.device.school_id
        _require_manage(principal, school_id=school, what="device", ident=device_id)
        return record


def _first_expected(device: Device, interval: timedelta, now: datetime) -> DeviceHealth:
    beat = Heartbeat(
        device_id=device.id,
        device_name=device.name,
        school_id=device.school_id,
        room_id=device.room_id,
        interval=interval,
        battery_percent=None,
    )
    try:
        return supervised_from(beat, now=now)
    except ValidationFailed as refusal:  # the interval, named as the admin sent it
        raise ValidationFailed("heartbeat_interval_seconds", refusal.message) from None


def _require_manage(principal: Principal, *, school_id: str, what: str, ident: str) -> None:
    verdict = authorize(principal, Action.MANAGE_DEVICES, school_id=school_id)
    require(verdict, what=what, ident=ident, action=Action.MANAGE_DEVICES)


def _entry(
    principal: Principal, action: str, device: Device, at: datetime, detail: Mapping[str, object]
) -> AuditEntry:
    """The audit entry for a change to `device`. `detail` never holds a secret."""
    return AuditEntry.by(
        principal, action, at=at, school_id=device.school_id, subject=device.id, detail=detail
    )


__all__ = ["DeviceKind", "DeviceSecret", "DeviceService"]
