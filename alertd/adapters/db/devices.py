"""Device rows and device nonces, as synchronous steps of one transaction.

Every function takes the open `Connection` first and runs inside the caller's transaction
(`async with db.write() as session: await session.run(...)`, or `db.read(...)` for reads).
Moments are stored in UTC. Secrets are never stored: only the salt of each generation (see
`alertd.core.device_signature.derive_device_secret`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite

from alertd.adapters.db import schema as t
from alertd.adapters.db.claim import sweep_unlocked
from alertd.core.device import Device, DeviceKind
from alertd.core.device_signature import DeviceSecrets, derive_device_secret
from alertd.core.errors import NotFound, ValidationFailed

_DEVICE = t.devices.c


@dataclass(frozen=True, slots=True)
class StoredDevice:
    """A device with the salts of its current and previous secret (hidden from `repr`)."""

    device: Device
    secret_salt: str = field(repr=False)
    previous_secret_salt: str | None = field(repr=False)
    previous_valid_until: datetime | None

    def secrets(self, server_key: str) -> DeviceSecrets:
        """The secrets this device may sign with, derived with the server's key."""
        device_id = self.device.id
        previous = (
            derive_device_secret(
                server_key=server_key, device_id=device_id, salt=self.previous_secret_salt
            )
            if self.previous_secret_salt is not None
            else None
        )
        return DeviceSecrets(
            current=derive_device_secret(
                server_key=server_key, device_id=device_id, salt=self.secret_salt
            ),
            previous=previous,
            previous_valid_until=self.previous_valid_until,
        )


def create_device(conn: Connection, *, device: Device, server_key: str) -> str:
    """Insert `device` and return its secret. This is the only time the secret is returned.

    Raises ValidationFailed("id") when a device (even a disabled one) already has this id.
    """
    salt = new_secret_salt()
    values = {
        "id": device.id,
        "name": device.name,
        "kind": device.kind.value,
        "school_id": device.school_id,
        "room_id": device.room_id,
        "user_id": device.user_id,
        "secret_salt": salt,
        "previous_secret_salt": None,
        "previous_valid_until": None,
        "disabled": device.disabled,
        "created_at": _utc(device.created_at),
    }
    inserted = conn.execute(_insert(conn, t.devices).values(values).on_conflict_do_nothing())
    if inserted.rowcount != 1:
        raise ValidationFailed("id", f"a device with id {device.id!r} already exists")
    return derive_device_secret(server_key=server_key, device_id=device.id, salt=salt)


def rotate_secret(
    conn: Connection, *, device_id: str, server_key: str, now: datetime, grace: timedelta
) -> str:
    """Give the device a new secret and return it (the only time it is returned).

    The secret it had until now stays valid until `now + grace` (not at all when `grace` is
    zero). A secret older than that is dropped at once: only one previous secret is kept.
    Raises NotFound when there is no such device.
    """
    current = conn.execute(
        sa.select(_DEVICE.secret_salt).where(_DEVICE.id == device_id).with_for_update()
    ).scalar_one_or_none()
    if current is None:
        raise NotFound("device", device_id)
    salt = new_secret_salt()
    keep_previous = grace > timedelta(0)
    conn.execute(
        sa.update(t.devices)
        .where(_DEVICE.id == device_id)
        .values(
            secret_salt=salt,
            previous_secret_salt=current if keep_previous else None,
            previous_valid_until=_utc(now + grace) if keep_previous else None,
        )
    )
    return derive_device_secret(server_key=server_key, device_id=device_id, salt=salt)


def disable_device(conn: Connection, device_id: str) -> bool:
    """Disable the device: its signatures are refused from now on. False if already disabled.

    Raises NotFound when there is no such device.
    """
    disabled = conn.execute(
        sa.select(_DEVICE.disabled).where(_DEVICE.id == device_id)
    ).scalar_one_or_none()
    if disabled is None:
        raise NotFound("device", device_id)
    if disabled:
        return False
    conn.execute(sa.update(t.devices).where(_DEVICE.id == device_id).values(disabled=True))
    conn.execute(sa.delete(t.device_nonces).where(t.device_nonces.c.device_id == device_id))
    return True


def get_device(conn: Connection, device_id: str) -> StoredDevice | None:
    """The device with this id (disabled or not), or None."""
    row = conn.execute(sa.select(t.devices).where(_DEVICE.id == device_id)).first()
    return None if row is None else _stored(row._mapping)


def list_devices(conn: Connection, school_id: str) -> list[Device]:
    """Every device of the school, disabled ones included, ordered by id."""
    rows = conn.execute(
        sa.select(t.devices).where(_DEVICE.school_id == school_id).order_by(_DEVICE.id)
    )
    return [_stored(row._mapping).device for row in rows]


def record_nonce(
    conn: Connection, *, device_id: str, nonce: str, now: datetime, max_skew: timedelta
) -> bool:
    """Record that the device used `nonce` at `now`. False means it was used before: a replay.

    Atomic (one INSERT on the primary key), so two concurrent uses of one nonce cannot both
    succeed. Also forgets nonces older than twice `max_skew`: a request signed that long ago
    has a timestamp outside the skew and is refused before its nonce is even looked at.
    """
    nonces = t.device_nonces
    sweep_unlocked(conn, nonces, nonces.c.seen_at < _utc(now - 2 * max_skew))
    inserted = conn.execute(
        _insert(conn, nonces)
        .values(device_id=device_id, nonce=nonce, seen_at=_utc(now))
        .on_conflict_do_nothing()
    )
    return bool(inserted.rowcount == 1)


def school_exists(conn: Connection, school_id: str) -> bool:
    """Is there a school with this id?"""
    found = conn.execute(sa.select(t.schools.c.id).where(t.schools.c.id == school_id)).first()
    return found is not None


def school_of_room(conn: Connection, room_id: str) -> str | None:
    """The school the room belongs to, or None when there is no such room."""
    school: str | None = conn.execute(
        sa.select(t.rooms.c.school_id).where(t.rooms.c.id == room_id)
    ).scalar_one_or_none()
    return school


def person_may_wear_badge_at(conn: Connection, *, user_id: str, school_id: str) -> bool:
    """Does the person exist, enabled, and (when bound to schools at all) at this school?

    People bound to no school (district-wide staff) may wear a badge at any school.
    """
    disabled = conn.execute(
        sa.select(t.users.c.disabled).where(t.users.c.id == user_id)
    ).scalar_one_or_none()
    if disabled is None or disabled:
        return False
    schools = set(
        conn.execute(
            sa.select(t.user_schools.c.school_id).where(t.user_schools.c.user_id == user_id)
        ).scalars()
    )
    return not schools or school_id in schools


def new_secret_salt() -> str:
    """A fresh random salt for one generation of a device secret: 16 bytes, as hex."""
    return secrets.token_hex(16)


def _insert(conn: Connection, table: sa.Table) -> Any:
    dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
    return dialect.insert(table)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite gives moments back without a zone; they were stored in UTC."""
    return None if moment is None else _utc(moment)


def _stored(row: Any) -> StoredDevice:
    device = Device(
        id=row["id"],
        name=row["name"],
        kind=DeviceKind(row["kind"]),
        school_id=row["school_id"],
        room_id=row["room_id"],
        user_id=row["user_id"],
        disabled=bool(row["disabled"]),
        created_at=_utc(row["created_at"]),
    )
    return StoredDevice(
        device=device,
        secret_salt=row["secret_salt"],
        previous_secret_salt=row["previous_secret_salt"],
        previous_valid_until=_aware(row["previous_valid_until"]),
    )
