"""Device rows and device nonces, as synchronous steps of one transaction.

Secrets are never stored: only the salt of each generation (see
`alertd.core.device_signature.derive_device_secret`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from alertd.adapters.codec import utc
from alertd.adapters.db import schema as t
from alertd.adapters.db.claim import sweep_unlocked
from alertd.adapters.db.sites import insert_for
from alertd.app.account_ports import DeviceRecord
from alertd.core.device import Device, DeviceKind

_DEVICE = t.devices.c


def _values(record: DeviceRecord) -> dict[str, Any]:
    device = record.device
    until = record.previous_valid_until
    return {
        "name": device.name,
        "kind": device.kind.value,
        "school_id": device.school_id,
        "room_id": device.room_id,
        "user_id": device.user_id,
        "secret_salt": record.secret_salt,
        "previous_secret_salt": record.previous_secret_salt,
        "previous_valid_until": utc(until) if until is not None else None,
        "disabled": device.disabled,
    }


def add_device(conn: Connection, record: DeviceRecord) -> bool:
    """Insert the device; False when a device (even a disabled one) has this id."""
    values = {
        "id": record.device.id,
        "created_at": utc(record.device.created_at),
        **_values(record),
    }
    inserted = conn.execute(
        insert_for(conn.dialect.name, t.devices).values(values).on_conflict_do_nothing()
    )
    return bool(inserted.rowcount == 1)


def save_device(conn: Connection, record: DeviceRecord) -> None:
    conn.execute(sa.update(t.devices).where(_DEVICE.id == record.device.id).values(_values(record)))
    if record.device.disabled:
        nonces = t.device_nonces
        conn.execute(sa.delete(nonces).where(nonces.c.device_id == record.device.id))


def get_device(conn: Connection, device_id: str, *, lock: bool = False) -> DeviceRecord | None:
    """The device with this id (disabled or not), or None."""
    query = sa.select(t.devices).where(_DEVICE.id == device_id)
    row = conn.execute(query.with_for_update() if lock else query).first()
    return None if row is None else _record(row)


def list_devices(conn: Connection, school_id: str) -> list[DeviceRecord]:
    """Every device of the school, disabled ones included, ordered by id."""
    rows = conn.execute(
        sa.select(t.devices).where(_DEVICE.school_id == school_id).order_by(_DEVICE.id)
    )
    return [_record(row) for row in rows]


def use_nonce(
    conn: Connection, device_id: str, nonce: str, *, now: datetime, forget_before: datetime
) -> bool:
    """Record that the device used `nonce` at `now`, and that it was seen. False means it
    was used before: a replay. Atomic (one INSERT on the primary key), so two concurrent uses
    of one nonce cannot both succeed. Also forgets nonces seen before `forget_before`."""
    nonces = t.device_nonces
    sweep_unlocked(conn, nonces, nonces.c.seen_at < utc(forget_before))
    inserted = conn.execute(
        insert_for(conn.dialect.name, nonces)
        .values(device_id=device_id, nonce=nonce, seen_at=utc(now))
        .on_conflict_do_nothing()
    )
    fresh = bool(inserted.rowcount == 1)
    if fresh:
        conn.execute(
            sa.update(t.devices).where(_DEVICE.id == device_id).values(last_seen_at=utc(now))
        )
    return fresh


def school_of_room(conn: Connection, room_id: str) -> str | None:
    """The school the room belongs to, or None when there is no such room."""
    school: str | None = conn.execute(
        sa.select(t.rooms.c.school_id).where(t.rooms.c.id == room_id)
    ).scalar_one_or_none()
    return school


def _record(row: Any) -> DeviceRecord:
    device = Device(
        id=row.id,
        name=row.name,
        kind=DeviceKind(row.kind),
        school_id=row.school_id,
        room_id=row.room_id,
        user_id=row.user_id,
        disabled=bool(row.disabled),
        created_at=utc(row.created_at),
    )
    until = row.previous_valid_until
    return DeviceRecord(
        device=device,
        secret_salt=row.secret_salt,
        previous_secret_salt=row.previous_secret_salt,
        previous_valid_until=utc(until) if until is not None else None,
        last_seen_at=utc(row.last_seen_at) if row.last_seen_at is not None else None,
    )
