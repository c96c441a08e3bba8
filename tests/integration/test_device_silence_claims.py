"""The silence round on PostgreSQL with several instances: each silent device raises exactly
one DeviceTrouble however many instances look at once, and a device heard again is not
reported (the round claims rows with FOR UPDATE SKIP LOCKED, `adapters/db/claim.py`)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI

from alertd.adapters.bus.memory import MemoryBus
from alertd.adapters.db.claim import Heartbeat, Instance
from alertd.adapters.db.device_health import SqlHealthStore
from alertd.app.ports import LogQuery
from alertd.app.supervision import SupervisionService
from alertd.core.device import Device, DeviceKind
from alertd.core.notice import Notice, NoticeType
from alertd.core.operator import STARTUP
from alertd.main import create_app, demo_site
from alertd.testing.clock import FakeClock
from alertd.testing.settings import make_settings

pytestmark = pytest.mark.integration

INSTANCES = 4


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


def button(n: int, clock: FakeClock) -> Device:
    return Device(id=f"btn-{n}", name=f"Button {n}", kind=DeviceKind.WALL_BUTTON,
                  school_id="lincoln-hs", room_id=f"lincoln-hs-a-10{n}", user_id=None,
                  disabled=False, created_at=clock.now())  # fmt: skip


async def test_each_silent_device_is_reported_once_by_one_of_several_instances(
    app: FastAPI, clock: FakeClock
) -> None:
    db = app.state.database
    services = []
    for n in range(INSTANCES):
        me = Instance(id=str(uuid.uuid4()), name=f"i{n}", timeout=timedelta(seconds=5))
        await Heartbeat(db, me, clock).run_once()
        store = SqlHealthStore(db, instance=me)
        services.append(
            SupervisionService(store=store, bus=MemoryBus(), clock=clock, low_battery_percent=20)
        )
    for n in range(1, 4):
        await services[0].heartbeat(principal=button(n, clock).principal(),
                                    interval=timedelta(seconds=60), battery_percent=90)  # fmt: skip
    clock.advance(30)
    await services[1].heartbeat(principal=button(3, clock).principal(),
                                interval=timedelta(seconds=60), battery_percent=90)  # fmt: skip
    clock.advance(31)  # buttons 1 and 2 are overdue; button 3 was heard 31 s ago

    for _ in range(3):
        await asyncio.gather(*(service.run_once() for service in services))

    log = await app.state.context.store.read_log(LogQuery(after=0, limit=1000))
    troubles = [
        e.event.data["device_id"] for e in log
        if isinstance(e.event, Notice) and e.event.type is NoticeType.DEVICE_TROUBLE
    ]  # fmt: skip
    assert sorted(troubles) == ["btn-1", "btn-2"]
