"""Group commit on SQLite: commands that queue for the one writer share a transaction and
its fsync, yet each stays all-or-nothing and durable before it answers; a distinct alert
goes before a flood's queued presses.

A real SQLite file; the HTTP tests serve alertd on a real port so requests run side by side.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from alertd.adapters.db import migrate
from alertd.adapters.db.audit import verify_chain
from alertd.adapters.db.engine import SqliteDatabase, open_database
from alertd.main import create_app
from alertd.settings import Settings
from alertd.testing.auth import headers_for
from alertd.testing.live import signed_in_client
from alertd.testing.settings import make_settings

pytestmark = pytest.mark.timeout(180)

NOTES = sa.table("notes", sa.column("id", sa.Integer), sa.column("text", sa.String))
PRESSES = 24


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[SqliteDatabase]:
    database = open_database(f"sqlite:///{tmp_path / 'group.db'}", sqlite_synchronous="FULL")
    assert isinstance(database, SqliteDatabase)
    async with database.write() as session:
        await session.run(
            lambda conn: conn.exec_driver_sql(
                "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)"
            )
        )
    yield database
    await database.dispose()


async def read_texts(db: SqliteDatabase) -> list[str]:
    def step(conn: sa.Connection) -> list[str]:
        return [text for (text,) in conn.execute(sa.select(NOTES.c.text).order_by(NOTES.c.id))]

    return await db.read(step)


async def write_note(db: SqliteDatabase, text: str, *, fail: bool = False) -> list[str]:
    """One command of two statements; returns what a reader sees right after it returned."""
    async with db.write() as session:
        await session.run(lambda conn: conn.execute(sa.insert(NOTES).values(text=f"{text}-a")))
        await asyncio.sleep(0)  # let the other commands queue up behind this one
        await session.run(lambda conn: conn.execute(sa.insert(NOTES).values(text=f"{text}-b")))
        if fail:
            raise RuntimeError(f"{text} fails after writing")
    return await read_texts(db)


async def test_queued_commands_are_each_durable_and_all_or_nothing(db: SqliteDatabase) -> None:
    commands = [write_note(db, f"c{n}", fail=n in (3, 11, PRESSES - 1)) for n in range(PRESSES)]

    results = await asyncio.gather(*commands, return_exceptions=True)

    failed = [n for n, result in enumerate(results) if isinstance(result, RuntimeError)]
    assert failed == [3, 11, PRESSES - 1]
    for n, result in enumerate(results):
        if n not in failed:
            assert isinstance(result, list)
            assert {f"c{n}-a", f"c{n}-b"} <= set(result)  # committed before it returned
    stored = await read_texts(db)
    expected = [f"c{n}-{part}" for n in range(PRESSES) if n not in failed for part in "ab"]
    assert stored == expected  # in turn order; nothing of a failed command, all of the others


async def test_an_urgent_command_goes_before_the_queued_ones(db: SqliteDatabase) -> None:
    holding = asyncio.Event()
    release = asyncio.Event()

    async def first() -> None:
        async with db.write() as session:
            await session.run(lambda conn: conn.execute(sa.insert(NOTES).values(text="first")))
            holding.set()
            await release.wait()

    async def note(text: str, *, urgent: bool) -> None:
        async with db.write(urgent=urgent) as session:
            await session.run(lambda conn: conn.execute(sa.insert(NOTES).values(text=text)))

    holder = asyncio.create_task(first())
    await holding.wait()
    queued = [asyncio.create_task(note(f"flood-{n}", urgent=False)) for n in range(5)]
    await asyncio.sleep(0.01)
    distinct = asyncio.create_task(note("distinct", urgent=True))
    await asyncio.sleep(0.01)
    release.set()
    await asyncio.gather(holder, distinct, *queued)

    assert await read_texts(db) == ["first", "distinct", *(f"flood-{n}" for n in range(5))]


async def test_a_cancelled_waiter_does_not_leave_the_batch_uncommitted(
    db: SqliteDatabase,
) -> None:
    holding = asyncio.Event()
    release = asyncio.Event()

    async def first() -> None:
        async with db.write() as session:
            await session.run(lambda conn: conn.execute(sa.insert(NOTES).values(text="first")))
            holding.set()
            await release.wait()

    async def waiter() -> None:
        async with db.write() as session:
            await session.run(lambda conn: conn.execute(sa.insert(NOTES).values(text="never")))

    holder = asyncio.create_task(first())
    await holding.wait()
    cancelled = asyncio.create_task(waiter())
    await asyncio.sleep(0.01)
    release.set()  # the first command leaves its transaction open for the waiter...
    await asyncio.sleep(0)
    cancelled.cancel()  # ...which goes away before its turn
    await asyncio.wait_for(holder, 10)

    assert await read_texts(db) == ["first"]
    with pytest.raises(asyncio.CancelledError):
        await cancelled


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    url = f"sqlite:///{tmp_path / 'alertd.db'}"
    migrate.upgrade(url)
    # One account presses for many rooms: every press is an alert of its own.
    return make_settings(tmp_path, url, repeat_press_seconds=0, sqlite_synchronous="FULL")


async def test_a_burst_of_raises_is_all_there_once_with_the_audit_chain_intact(
    settings: Settings,
) -> None:
    app = create_app(settings)
    async with signed_in_client(app, role="drill_coordinator", connections=PRESSES) as client:
        tree = (await client.get("/v1/schools/lincoln-hs")).json()
        rooms = [r["id"] for b in tree["buildings"] for f in b["floors"] for r in f["rooms"]]

        async def press(n: int, key: str) -> httpx.Response:
            body = {"kind": "medical", "school_id": "lincoln-hs", "room_id": rooms[n]}
            return await client.post(
                "/v1/alerts", json=body | {"drill": n % 2 == 0}, headers={"Idempotency-Key": key}
            )

        answers = await asyncio.gather(
            *(press(n, f"burst-{n}") for n in range(PRESSES)),
            *(press(n, f"burst-{n}") for n in range(0, PRESSES, 4)),  # retries in the burst
        )
        again = await asyncio.gather(*(press(n, f"burst-{n}") for n in range(PRESSES)))

        ids = {a.json()["id"] for a in answers}
        assert all(a.status_code in (200, 201) for a in answers), [a.text for a in answers]
        assert len(ids) == PRESSES  # a retry in the burst joined its alert
        assert sum(a.status_code == 201 for a in answers) == PRESSES
        assert {a.json()["id"] for a in again} == ids and {a.status_code for a in again} == {200}
        listed = (await client.get("/v1/alerts", params={"limit": 1000})).json()["alerts"]
        assert {a["id"] for a in listed} == ids
        assert {a["id"] for a in listed if a["drill"]} == {
            a.json()["id"] for a in answers[:PRESSES:2]
        }

    db = open_database(settings.resolved_database_url())
    try:
        verdict = await db.read(verify_chain)
        assert verdict.ok, verdict
    finally:
        await db.dispose()


async def test_a_distinct_alert_during_a_flood_is_recorded_before_the_queued_presses(
    settings: Settings,
) -> None:
    app = create_app(settings)
    async with signed_in_client(app, role="drill_coordinator", connections=PRESSES + 2) as flood:
        tree = (await flood.get("/v1/schools/lincoln-hs")).json()
        rooms = [r["id"] for b in tree["buildings"] for f in b["floors"] for r in f["rooms"]]
        medical = dict(await headers_for(flood, "dispatcher"))

        async def press(n: int) -> httpx.Response:
            body = {"kind": "lockdown", "school_id": "lincoln-hs", "room_id": rooms[n]}
            return await flood.post(
                "/v1/alerts", json=body | {"drill": True}, headers={"Idempotency-Key": f"f{n}"}
            )

        presses = [asyncio.create_task(press(n)) for n in range(PRESSES)]
        await asyncio.sleep(0)  # the flood's requests are on their way
        other = await flood.post(
            "/v1/alerts",
            json={"kind": "medical", "school_id": "jefferson-es"},
            headers=medical | {"Idempotency-Key": "distinct"},
        )
        answers = await asyncio.gather(*presses)

        assert other.status_code == 201, other.text
        assert all(a.status_code == 201 for a in answers)
        raised = sorted((a.json()["raised_at"], a.json()["id"]) for a in [*answers, other])
        position = [alert_id for _at, alert_id in raised].index(other.json()["id"])
        # Every press queued when it arrived was recorded after it (its own request may
        # overtake a few presses still being read from their sockets).
        assert position < PRESSES // 2, raised
