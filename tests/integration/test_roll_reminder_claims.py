"""Roll reminders on PostgreSQL with several instances: each roll gets exactly one reminder
when it falls due however many instances run their round at once, reports from the rooms
go in at the same time, and a timer claimed by an instance that died is taken over (the
round claims rows with FOR UPDATE SKIP LOCKED, `adapters/db/claim.py`, and decides from
the alert's log under its lock)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI

from alertd.adapters.bus.memory import MemoryBus
from alertd.adapters.db.claim import Heartbeat, Instance
from alertd.adapters.db.roll import SqlRollStore
from alertd.app.roll import RollService
from alertd.core.alert import AlertEvent, EventType
from alertd.core.command import RaiseAlert
from alertd.core.kind import AlertKind
from alertd.core.operator import OPERATOR, STARTUP
from alertd.core.roll import ReportRoll
from alertd.core.roll_reminder import ReminderPolicy
from alertd.main import create_app, demo_site
from alertd.testing.clock import FakeClock
from alertd.testing.settings import make_settings

pytestmark = pytest.mark.integration

INSTANCES = 4
INTERVAL = timedelta(seconds=60)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def app(tmp_path: Path, pg_database: str, clock: FakeClock) -> AsyncIterator[FastAPI]:
    """alertd on PostgreSQL without its background loops: the test plays the instances."""
    application = create_app(make_settings(tmp_path, pg_database), clock=clock)
    await application.state.context.alerts.load_site(demo_site().to_site(), principal=STARTUP)
    yield application
    await application.state.database.dispose()


@dataclass
class Played:
    """One instance the test plays: its roll service, its store and its heartbeat."""

    service: RollService
    store: SqlRollStore
    heartbeat: Heartbeat


async def instances(app: FastAPI, clock: FakeClock, count: int) -> list[Played]:
    db, store = app.state.database, app.state.context.store
    played = []
    for n in range(count):
        me = Instance(id=str(uuid.uuid4()), name=f"i{n}", timeout=timedelta(seconds=5))
        heartbeat = Heartbeat(db, me, clock)
        await heartbeat.run_once()
        rolls = SqlRollStore(db, store=store, instance=me)
        service = RollService(
            store=rolls,
            bus=MemoryBus(),
            clock=clock,
            reminders=ReminderPolicy(interval=INTERVAL, limit=3),
        )
        played.append(Played(service, rolls, heartbeat))
    return played


async def raise_lockdown(app: FastAPI, n: int) -> str:
    raised = await app.state.context.alerts.raise_alert(
        RaiseAlert(kind=AlertKind.LOCKDOWN, school_id="lincoln-hs", drill=n % 2 == 0),
        principal=OPERATOR,
        idempotency_key=f"lockdown-{n}",
        fingerprint=str(n),
    )
    return str(raised.alert.id)


async def reminders_of(app: FastAPI, alert_id: str) -> list[AlertEvent]:
    timeline = await app.state.context.store.timeline(alert_id)
    return [
        e.event for e in timeline
        if isinstance(e.event, AlertEvent) and e.event.type is EventType.ROLL_REMINDER
    ]  # fmt: skip


async def test_each_roll_is_reminded_once_by_one_of_several_instances(
    app: FastAPI, clock: FakeClock
) -> None:
    services = [played.service for played in await instances(app, clock, INSTANCES)]
    alert_ids = [await raise_lockdown(app, n) for n in range(5)]
    await asyncio.gather(*(s.run_once() for s in services))  # timers set, nothing due yet
    clock.advance(INTERVAL.total_seconds())

    reports = [
        services[0].report(
            alert_id,
            ReportRoll(
                room_id="lincoln-hs-a-109", group=None, status="secured", students_present=9
            ),
            principal=OPERATOR,
        )
        for alert_id in alert_ids
    ]
    rounds = [s.run_once() for s in services for _ in range(2)]
    await asyncio.gather(*reports, *rounds)

    for alert_id in alert_ids:
        (reminder,) = await reminders_of(app, alert_id)
        assert reminder.data["since_seconds"] == INTERVAL.total_seconds()
        assert "lincoln-hs-a-111" in reminder.data["room_ids"]


async def test_a_timer_claimed_by_a_dead_instance_is_taken_over(
    app: FastAPI, clock: FakeClock
) -> None:
    dead, alive = await instances(app, clock, 2)
    alert_id = await raise_lockdown(app, 1)
    await alive.service.run_once()  # sets the timer; the roll has just begun
    clock.advance(INTERVAL.total_seconds())
    for played in (dead, alive):
        await played.heartbeat.run_once()
    # The instance about to die claims the due timer, with a long lease, and never fires it.
    async with dead.store.transaction() as tx:
        claimed = await tx.claim_due_rolls(now=clock.now(), lease=timedelta(minutes=10), limit=9)
    assert claimed == [alert_id]
    await alive.service.run_once()
    assert await reminders_of(app, alert_id) == []  # its claimer is alive: hands off

    clock.advance(6)  # the dead instance stopped heartbeating: its claim is taken over
    await alive.heartbeat.run_once()
    await alive.service.run_once()
    assert len(await reminders_of(app, alert_id)) == 1
