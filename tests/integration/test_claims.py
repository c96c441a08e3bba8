"""Work claimed across instances on PostgreSQL: a claim names its instance, a live instance
keeps its claims, a dead one loses them within seconds (not after the lease), a clean
shutdown hands them back at once; and one instance at a time relays the log to Redis.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from alertd.adapters.auth.demo import seed_demo_users
from alertd.adapters.bus.redis_keys import RedisKeys
from alertd.adapters.bus.redis_streams import RedisStream, connect
from alertd.adapters.db.claim import Heartbeat, Instance
from alertd.adapters.db.engine import Database
from alertd.adapters.db.store import SqlStore
from alertd.app.log_relay import EventRelay
from alertd.core.operator import STARTUP
from alertd.main import create_app, demo_site
from alertd.testing.auth import headers_for
from alertd.testing.clock import FakeClock
from alertd.testing.settings import make_settings

pytestmark = pytest.mark.integration

TIMEOUT = timedelta(seconds=5)
LINCOLN_DRILL_TEXTS = 3


def instance(name: str) -> Instance:
    return Instance(id=str(uuid.uuid4()), name=name, timeout=TIMEOUT)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def app(tmp_path: Path, pg_database: str, clock: FakeClock) -> AsyncIterator[FastAPI]:
    """alertd on PostgreSQL without its background loops: the test plays the instances."""
    application = create_app(make_settings(tmp_path, pg_database), clock=clock)
    await application.state.context.alerts.load_site(demo_site().to_site(), principal=STARTUP)
    await seed_demo_users(application.state.database, now=clock.now())
    yield application
    await application.state.database.dispose()


async def raise_drill(app: FastAPI, key: str, kind: str = "lockdown") -> str:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        client.headers.update(await headers_for(client, "district_admin"))
        body = {"kind": kind, "school_id": "lincoln-hs", "drill": True}
        answer = await client.post("/v1/alerts", json=body, headers={"Idempotency-Key": key})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def instances_of(db: Database, clock: FakeClock) -> tuple[SqlStore, Heartbeat, SqlStore, Heartbeat]:
    a, b = instance("a"), instance("b")
    return (
        SqlStore(db, instance=a),
        Heartbeat(db, a, clock),
        SqlStore(db, instance=b),
        Heartbeat(db, b, clock),
    )


async def test_a_dead_instances_claims_are_taken_over_after_the_timeout_not_the_lease(
    app: FastAPI, clock: FakeClock
) -> None:
    await raise_drill(app, "claims-1")
    store_a, beat_a, store_b, beat_b = instances_of(app.state.database, clock)
    await beat_a.run_once()
    await beat_b.run_once()

    claimed = await store_a.due_effects(now=clock.now(), limit=10)
    assert len(claimed) == LINCOLN_DRILL_TEXTS
    assert await store_b.due_effects(now=clock.now(), limit=10) == []  # a is alive

    clock.advance(3)  # a still heartbeats: its claims stay its own
    await beat_a.run_once()
    await beat_b.run_once()
    assert await store_b.due_effects(now=clock.now(), limit=10) == []

    clock.advance(6)  # a went silent (killed): past the 5 s timeout, well within the lease
    await beat_b.run_once()
    taken = await store_b.due_effects(now=clock.now(), limit=10)
    assert sorted(i.id for i in taken) == sorted(i.id for i in claimed)


async def test_a_clean_shutdown_hands_claims_back_at_once(app: FastAPI, clock: FakeClock) -> None:
    await raise_drill(app, "claims-2")
    store_a, beat_a, store_b, beat_b = instances_of(app.state.database, clock)
    await beat_a.run_once()
    await beat_b.run_once()
    claimed = await store_a.due_effects(now=clock.now(), limit=10)

    assert await store_a.release_own_claims() == len(claimed)
    await beat_a.stop()

    taken = await store_b.due_effects(now=clock.now(), limit=10)
    assert sorted(i.id for i in taken) == sorted(i.id for i in claimed)


async def test_the_relay_copies_events_whose_publish_was_lost_one_instance_at_a_time(
    app: FastAPI, redis_url: str, redis_prefix: str
) -> None:
    store: SqlStore = app.state.context.store
    redis = connect(redis_url)
    stream = RedisStream(redis, RedisKeys(redis_prefix), maxlen=1000)
    relay = EventRelay(store=store, sink=stream)
    try:
        await relay.run_once()  # starts at the head: the log before it is history
        assert await stream.top() == 0
        # An instance commits and dies before its XADD: nothing on the bus.
        await raise_drill(app, "lost-1")
        await raise_drill(app, "lost-2", kind="hold")
        head = await store.last_event_id()
        assert await stream.top() == 0

        # While one instance relays (holds the position's row), another skips the round.
        async with store.transaction() as tx:
            assert await tx.claim_relay("bus") is not None
            assert await relay.run_once() is False
            assert await stream.top() == 0
        await relay.run_once()

        assert await stream.top() == head
        relayed = await stream.read(after=0)
        assert [e.id for e in relayed] == list(range(head - len(relayed) + 1, head + 1))
        assert {e.event.type.value for e in relayed} == {"AlertRaised"}
        await relay.run_once()  # nothing new: nothing twice
        assert len(await stream.read(after=0)) == len(relayed)
    finally:
        await redis.aclose()
