"""Escalation timers on PostgreSQL: two instances racing for a due timer fire it once."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from alertd.adapters.auth.demo import seed_demo_users
from alertd.adapters.bus.memory import MemoryBus
from alertd.adapters.db import schema as t
from alertd.adapters.db.claim import Heartbeat, Instance
from alertd.adapters.db.engine import open_database
from alertd.adapters.db.store import SqlStore
from alertd.app.escalation import EscalationEngine
from alertd.core.operator import STARTUP
from alertd.main import create_app, demo_site
from alertd.testing.auth import headers_for
from alertd.testing.clock import FakeClock
from alertd.testing.settings import make_settings

pytestmark = pytest.mark.integration

LOCKDOWN = {"kind": "lockdown", "school_id": "lincoln-hs", "room_id": "lincoln-hs-a-101"}


async def test_two_instances_racing_for_a_due_step_fire_it_once(
    tmp_path: Path, pg_database: str
) -> None:
    clock = FakeClock()
    app = create_app(make_settings(tmp_path, pg_database), clock=clock)  # no workers running
    ctx = app.state.context
    await ctx.alerts.load_site(demo_site().to_site(), principal=STARTUP)
    await seed_demo_users(app.state.database, now=clock.now())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        client.headers.update(await headers_for(client, "district_admin"))
        raised = await client.post(
            "/v1/alerts", json=LOCKDOWN, headers={"Idempotency-Key": "race-1"}
        )
    assert raised.status_code == 201, raised.text
    clock.advance(61)  # the first step (call the agencies) is due

    databases = [open_database(pg_database) for _ in range(2)]
    instances = [
        Instance(id=str(uuid.uuid4()), name=f"racer {i}", timeout=timedelta(seconds=5))
        for i in range(2)
    ]
    engines = [
        EscalationEngine(store=SqlStore(db, instance=me), bus=MemoryBus(), clock=clock)
        for db, me in zip(databases, instances, strict=True)
    ]
    try:
        for db, me in zip(databases, instances, strict=True):
            await Heartbeat(db, me, clock).run_once()  # both alive: neither takes the other's
        for _ in range(3):  # every round, both instances at once
            await asyncio.gather(*(engine.run_once() for engine in engines))

        def calls(conn: sa.Connection) -> list[str]:
            query = sa.select(t.outbox.c.body).where(t.outbox.c.effect == "PlaceCall")
            return sorted(row.body["to"] for row in conn.execute(query))

        assert await databases[0].read(calls) == ["+15555550100", "+15555550101"]
    finally:
        for db in databases:
            await db.dispose()
        await app.state.database.dispose()


async def test_a_step_claimed_again_from_an_instance_taken_for_dead_fires_once(
    tmp_path: Path, pg_database: str
) -> None:
    """Instance A claims the due step and stalls past the heartbeat timeout; B takes it over
    and fires it; A wakes up and fires what it had claimed: the step must not double."""
    clock = FakeClock()
    app = create_app(make_settings(tmp_path, pg_database), clock=clock)  # no workers running
    ctx = app.state.context
    await ctx.alerts.load_site(demo_site().to_site(), principal=STARTUP)
    await seed_demo_users(app.state.database, now=clock.now())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        client.headers.update(await headers_for(client, "district_admin"))
        raised = await client.post(
            "/v1/alerts", json=LOCKDOWN, headers={"Idempotency-Key": "stall-1"}
        )
    assert raised.status_code == 201, raised.text
    clock.advance(61)

    databases = [open_database(pg_database) for _ in range(2)]
    instances = [
        Instance(id=str(uuid.uuid4()), name=f"instance {i}", timeout=timedelta(seconds=5))
        for i in range(2)
    ]
    stores = [SqlStore(db, instance=me) for db, me in zip(databases, instances, strict=True)]
    engines = [EscalationEngine(store=store, bus=MemoryBus(), clock=clock) for store in stores]
    try:
        await Heartbeat(databases[0], instances[0], clock).run_once()
        claimed = await stores[0].due_escalations(now=clock.now(), limit=10)
        assert len(claimed) == 1
        clock.advance(10)  # A has been silent for longer than the timeout
        await Heartbeat(databases[1], instances[1], clock).run_once()
        await engines[1].run_once()  # B takes the step over and fires it
        assert await engines[0].fire(claimed[0]) is False  # A, awake again, does not

        def calls(conn: sa.Connection) -> list[str]:
            query = sa.select(t.outbox.c.body).where(t.outbox.c.effect == "PlaceCall")
            return sorted(row.body["to"] for row in conn.execute(query))

        assert await databases[0].read(calls) == ["+15555550100", "+15555550101"]
    finally:
        for db in databases:
            await db.dispose()
        await app.state.database.dispose()
