"""Devices that raise alerts by themselves: wall buttons, wearable badges and kiosks.

A device acts for exactly one school. A wall button is bound to one room, and every alert it
raises is for that room. A badge is bound to the person who wears it; the room of its alerts
comes from the request (the badge or its bridge locates it). A kiosk may be bound to a room
(then it behaves like a wall button) or to none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from alertd.core.actor import Actor, ActorKind
from alertd.core.errors import ValidationFailed
from alertd.core.permission import Principal, Role
from alertd.core.source import AlertSource


class DeviceKind(StrEnum):
    WALL_BUTTON = "wall_button"
    BADGE = "badge"
    KIOSK = "kiosk"


DEVICE_ACTOR_PREFIX = "device:"


@dataclass(frozen=True, slots=True)
class Device:
    """A registered device. Holds no secret (see `core.device_signature`)."""

    id: str
    name: str
    kind: DeviceKind
    school_id: str
    room_id: str | None
    user_id: str | None
    disabled: bool
    created_at: datetime

    def principal(self) -> Principal:
        """Who this device is when it signs a request: role DEVICE, its school, its room."""
        actor = Actor(
            id=f"{DEVICE_ACTOR_PREFIX}{self.id}",
            name=self.name,
            kind=ActorKind.DEVICE,
            role=Role.DEVICE.value,
        )
        return Principal(
            actor=actor,
            role=Role.DEVICE,
            school_ids=frozenset({self.school_id}),
            room_id=self.room_id,
            source=AlertSource(self.kind.value),
        )


def check_binding(kind: DeviceKind, *, room_id: str | None, user_id: str | None) -> None:
    """Refuse a binding that does not fit the kind (ValidationFailed names the field).

    A wall button needs a room and no person; a badge needs a person and no room; a kiosk
    takes a room or nothing. Whether the room and the person exist is the caller's check.
    """
    if kind is DeviceKind.WALL_BUTTON and room_id is None:
        raise ValidationFailed("room_id", "a wall button must be bound to a room")
    if kind is DeviceKind.BADGE and user_id is None:
        raise ValidationFailed("user_id", "a badge must be bound to the person who wears it")
    if kind is not DeviceKind.BADGE and user_id is not None:
        raise ValidationFailed("user_id", f"a {kind.value} is not bound to a person")
    if kind is DeviceKind.BADGE and room_id is not None:
        raise ValidationFailed("room_id", "a badge moves with its wearer: it has no room")
