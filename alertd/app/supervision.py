"""Device supervision, the use cases: a device's heartbeat, and the round that notices
silent devices. The rules are `alertd.core.supervision`; this module runs them inside
transactions and publishes the notices after commit.

The silence round runs on every instance (a supervised worker loop); each overdue device is
claimed in the name of one instance (`HealthTransaction.claim_overdue`), so a silence is
logged once even with several instances, and a dead instance's claims are taken over.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from alertd.app.ports import Clock, EventBus, LoggedEvent
from alertd.app.service import require
from alertd.core.device import DEVICE_ACTOR_PREFIX
from alertd.core.notice import DomainEvent
from alertd.core.permission import Action, Principal, authorize
from alertd.core.supervision import DeviceHealth, Heartbeat, fell_silent, heard

# How long one instance holds an overdue device it claimed before another may take it over.
CLAIM_LEASE = timedelta(seconds=30)
ROUND_LIMIT = 100


class HealthTransaction(Protocol):
    """One transaction on device health and the event log; all of it commits, or none."""

    async def health(self, device_id: str) -> DeviceHealth | None:
        """The device's health, locked until commit; None if it never sent a heartbeat."""

    async def save_health(self, health: DeviceHealth) -> None:
        """Insert or replace the device's health, and give up any claim on it."""

    async def claim_overdue(
        self, *, now: datetime, lease: timedelta, limit: int
    ) -> list[DeviceHealth]:
        """Claim, for this instance until now + lease, devices overdue at `now` and not yet
        known silent (skipping rows other instances are claiming)."""

    async def append(self, events: list[DomainEvent]) -> list[LoggedEvent]:
        """Append to the event log (ids in commit order)."""


class HealthStore(Protocol):
    def transaction(self) -> AbstractAsyncContextManager[HealthTransaction]: ...


@dataclass(frozen=True, slots=True)
class HeartbeatAnswer:
    health: DeviceHealth
    notices: int


class SupervisionService:
    """Heartbeats in, DeviceTrouble/DeviceRecovered notices out (on the log and the bus)."""

    def __init__(
        self, *, store: HealthStore, bus: EventBus, clock: Clock, low_battery_percent: int
    ) -> None:
        self._store = store
        self._bus = bus
        self._clock = clock
        self._low_battery = low_battery_percent

    async def heartbeat(
        self, *, principal: Principal, interval: timedelta, battery_percent: int | None
    ) -> HeartbeatAnswer:
        """Record a signed device's heartbeat. Forbidden for anyone but a device;
        ValidationFailed names a bad interval or battery level (nothing is written)."""
        school_id = next(iter(principal.school_ids or ()), None)
        verdict = authorize(principal, Action.REPORT_HEALTH, school_id=school_id)
        require(verdict, what="device", ident=principal.actor.id, action=Action.REPORT_HEALTH)
        assert school_id is not None  # a device principal always has its one school
        beat = Heartbeat(
            device_id=principal.actor.id.removeprefix(DEVICE_ACTOR_PREFIX),
            device_name=principal.actor.name,
            school_id=school_id,
            room_id=principal.room_id,
            interval=interval,
            battery_percent=battery_percent,
        )
        now = self._clock.now()
        async with self._store.transaction() as tx:
            previous = await tx.health(beat.device_id)
            health, notices = heard(
                previous,
                beat,
                now=now,
                low_battery_percent=self._low_battery,
                actor=principal.actor,
            )
            await tx.save_health(health)
            logged = await tx.append(list(notices))
        await self._bus.publish(logged)
        return HeartbeatAnswer(health, len(logged))

    async def run_once(self) -> bool:
        """One silence round: every overdue device claimed here gets its DeviceTrouble.
        True when the round was full (more may be overdue at once)."""
        now = self._clock.now()
        async with self._store.transaction() as tx:
            overdue = await tx.claim_overdue(now=now, lease=CLAIM_LEASE, limit=ROUND_LIMIT)
            notices: list[DomainEvent] = []
            for health in overdue:
                silent, raised = fell_silent(health, now=now)
                await tx.save_health(silent)
                notices.extend(raised)
            logged = await tx.append(notices)
        await self._bus.publish(logged)
        return len(overdue) == ROUND_LIMIT
