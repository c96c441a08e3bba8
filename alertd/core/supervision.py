"""Device supervision: a wall button that stops talking, or runs low on battery, is an alarm.

Pure: no I/O and no clock reads (`now` is an argument). A device sends a signed heartbeat
every so often, naming the longest it may stay silent (`interval`) and its battery. Each
heartbeat and each silence check returns the device's new health and the notices to log:

- `DeviceTrouble` (reason `silent`): nothing heard for longer than the interval. Raised once
  per silence, by whichever instance claims the overdue row first.
- `DeviceTrouble` (reason `low_battery`): the battery at or below the threshold. Raised once
  per low spell, not at every heartbeat.
- `DeviceRecovered`: a silent device is heard again, or its battery is no longer low.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from alertd.core.actor import Actor, ActorKind
from alertd.core.errors import ValidationFailed
from alertd.core.notice import Notice, NoticeType

MIN_INTERVAL = timedelta(seconds=1)
MAX_INTERVAL = timedelta(days=1)

# Who logs a silence: nobody pressed anything, the supervisor noticed.
SUPERVISOR_ACTOR = Actor(
    id="system:device-supervisor", name="Device supervision", kind=ActorKind.SYSTEM, role="system"
)


class TroubleReason(StrEnum):
    SILENT = "silent"
    LOW_BATTERY = "low_battery"


@dataclass(frozen=True, slots=True)
class DeviceHealth:
    """What supervision knows of one device: when it was last heard and what is wrong."""

    device_id: str
    device_name: str
    school_id: str
    room_id: str | None
    interval: timedelta
    last_heard_at: datetime
    battery_percent: int | None
    silent: bool = False
    low_battery: bool = False

    @property
    def due_at(self) -> datetime:
        """When the device counts as silent if nothing more is heard."""
        return self.last_heard_at + self.interval


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """One heartbeat, as the device signed it."""

    device_id: str
    device_name: str
    school_id: str
    room_id: str | None
    interval: timedelta
    battery_percent: int | None


def check_heartbeat(beat: Heartbeat) -> None:
    """Refuse an impossible heartbeat (ValidationFailed names the field)."""
    if not MIN_INTERVAL <= beat.interval <= MAX_INTERVAL:
        raise ValidationFailed("interval_seconds", "must be between 1 second and 1 day")
    if beat.battery_percent is not None and not 0 <= beat.battery_percent <= 100:
        raise ValidationFailed("battery_percent", "must be between 0 and 100")


def heard(
    previous: DeviceHealth | None,
    beat: Heartbeat,
    *,
    now: datetime,
    low_battery_percent: int,
    actor: Actor,
) -> tuple[DeviceHealth, list[Notice]]:
    """The device's health after a heartbeat at `now`, and the notices it causes."""
    check_heartbeat(beat)
    low = beat.battery_percent is not None and beat.battery_percent <= low_battery_percent
    health = DeviceHealth(
        device_id=beat.device_id,
        device_name=beat.device_name,
        school_id=beat.school_id,
        room_id=beat.room_id,
        interval=beat.interval,
        last_heard_at=now,
        battery_percent=beat.battery_percent,
        silent=False,
        low_battery=low,
    )
    notices: list[Notice] = []
    was_silent = previous is not None and previous.silent
    was_low = previous is not None and previous.low_battery
    if was_silent:
        notices.append(
            _notice(NoticeType.DEVICE_RECOVERED, health, TroubleReason.SILENT, now, actor)
        )
    if low and not was_low:
        notices.append(
            _notice(NoticeType.DEVICE_TROUBLE, health, TroubleReason.LOW_BATTERY, now, actor)
        )
    if was_low and not low:
        notices.append(
            _notice(NoticeType.DEVICE_RECOVERED, health, TroubleReason.LOW_BATTERY, now, actor)
        )
    return health, notices


def supervised_from(beat: Heartbeat, *, now: datetime) -> DeviceHealth:
    """A device supervised from its registration at `now`, before it is ever heard: if no
    heartbeat comes within the interval, the silence round reports it like any silent device
    (a button that never came online is as dangerous as one that went quiet)."""
    check_heartbeat(beat)
    return DeviceHealth(
        device_id=beat.device_id,
        device_name=beat.device_name,
        school_id=beat.school_id,
        room_id=beat.room_id,
        interval=beat.interval,
        last_heard_at=now,
        battery_percent=None,
    )


def fell_silent(health: DeviceHealth, *, now: datetime) -> tuple[DeviceHealth, list[Notice]]:
    """The device's health at `now` if nothing was heard since; a DeviceTrouble notice the
    first time it is overdue, nothing when it is not (yet, or again)."""
    if health.silent or now < health.due_at:
        return health, []
    silent = replace(health, silent=True)
    return silent, [
        _notice(NoticeType.DEVICE_TROUBLE, silent, TroubleReason.SILENT, now, SUPERVISOR_ACTOR)
    ]


def _notice(
    kind: NoticeType, health: DeviceHealth, reason: TroubleReason, now: datetime, actor: Actor
) -> Notice:
    return Notice(
        type=kind,
        at=now,
        actor=actor,
        school_id=health.school_id,
        data={
            "device_id": health.device_id,
            "device_name": health.device_name,
            "room_id": health.room_id,
            "reason": reason.value,
            "last_heard_at": health.last_heard_at.isoformat(),
            "battery_percent": health.battery_percent,
            "interval_seconds": int(health.interval.total_seconds()),
        },
    )
