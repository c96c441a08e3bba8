"""SQLite's writer: transactions queued together share one COMMIT, yet each stands alone.

A scratch table in a real SQLite file (synchronous=FULL, as served), written through
`SqliteDatabase` the way the stores write.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, event, text

from alertd.adapters.db.sqlite_writer import SqliteDatabase


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[SqliteDatabase]:
    path = tmp_path / "scratch.db"
    with sqlite3.connect(path) as setup:
        setup.execute("PRAGMA journal_mode=WAL")
        setup.execute("CREATE TABLE parents (id INTEGER PRIMARY KEY)")
        setup.execute(
            "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL UNIQUE, parent "
            "INTEGER REFERENCES parents(id) DEFERRABLE INITIALLY DEFERRED)"
        )
    database = SqliteDatabase(f"sqlite:///{path}", synchronous="FULL")
    yield database
    await database.dispose()


def _insert(body: str, parent: int | None = None) -> object:
    def step(conn: Connection) -> None:
        conn.execute(
            text("INSERT INTO notes (body, parent) VALUES (:body, :parent)"),
            {"body": body, "parent": parent},
        )

    return step


async def _write(
    db: SqliteDatabase, body: str, *, lane: str = "default", fail: bool = False
) -> None:
    async with db.write(lane) as session:
        await session.run(_insert(body))  # type: ignore[arg-type]
        await asyncio.sleep(0)  # others queue meanwhile
        if fail:
            raise ValueError(f"{body} fails after writing")


async def _bodies(db: SqliteDatabase) -> list[str]:
    def step(conn: Connection) -> list[str]:
        return [row.body for row in conn.execute(text("SELECT body FROM notes ORDER BY id"))]

    return await db.read(step)


async def test_queued_transactions_share_commits_and_each_is_durable_when_it_returns(
    db: SqliteDatabase,
) -> None:
    seen_at_return: dict[str, bool] = {}

    async def write_then_look(body: str) -> None:
        await _write(db, body)
        seen_at_return[body] = body in await _bodies(db)  # another connection: committed

    await asyncio.gather(*(write_then_look(f"note-{i}") for i in range(40)))

    assert sorted(await _bodies(db)) == sorted(f"note-{i}" for i in range(40))
    assert all(seen_at_return.values()) and len(seen_at_return) == 40
    assert db.committed_transactions == 40
    assert db.commit_count < 40  # they shared COMMITs (and fsyncs)


async def test_a_failing_transaction_undoes_only_its_own_writes(db: SqliteDatabase) -> None:
    outcomes = await asyncio.gather(
        *(_write(db, f"note-{i}", fail=i % 3 == 0) for i in range(12)),
        return_exceptions=True,
    )

    failed = {f"note-{i}" for i in range(12) if i % 3 == 0}
    assert [isinstance(o, ValueError) for o in outcomes] == [i % 3 == 0 for i in range(12)]
    assert set(await _bodies(db)) == {f"note-{i}" for i in range(12)} - failed


async def test_a_statement_error_undoes_that_transaction_only(db: SqliteDatabase) -> None:
    async def duplicate() -> None:
        async with db.write() as session:
            await session.run(_insert("twice"))  # type: ignore[arg-type]

    results = await asyncio.gather(
        _write(db, "before"),
        duplicate(),
        duplicate(),
        _write(db, "after"),
        return_exceptions=True,
    )

    assert [type(r).__name__ for r in results].count("IntegrityError") == 1
    assert sorted(await _bodies(db)) == ["after", "before", "twice"]


async def test_when_the_commit_fails_every_transaction_of_the_batch_fails(
    db: SqliteDatabase,
) -> None:
    """A deferred foreign key is checked at COMMIT: the shared COMMIT fails, and so does
    every transaction in it: none was told it was durable, none of their writes stay."""
    # alertd does not turn foreign keys on; here they make a COMMIT fail on demand.
    event.listen(
        db._writer_engine,  # private: the test reaches in
        "connect",
        lambda dbapi_connection, _record: dbapi_connection.execute("PRAGMA foreign_keys=ON"),
    )

    async def orphan() -> None:
        async with db.write() as session:
            await session.run(_insert("orphan", parent=42))  # type: ignore[arg-type]

    async def writer(body: str) -> None:
        await _write(db, body)

    results = await asyncio.gather(writer("a"), orphan(), writer("b"), return_exceptions=True)

    assert all(isinstance(r, Exception) for r in results), results
    assert await _bodies(db) == []
    await _write(db, "later")  # the writer goes on afterwards
    assert await _bodies(db) == ["later"]


async def test_a_distinct_lane_is_not_buried_behind_a_flood(db: SqliteDatabase) -> None:
    order: list[str] = []

    async def write(body: str, lane: str) -> None:
        await _write(db, body, lane=lane)
        order.append(body)

    flood = [asyncio.create_task(write(f"press-{i}", "lincoln lockdown")) for i in range(60)]
    await asyncio.sleep(0)
    medical = asyncio.create_task(write("medical", "jefferson medical"))
    await asyncio.gather(*flood, medical)

    assert order.index("medical") < 10, order


async def test_another_process_writing_holds_the_writer_back_not_the_event_loop(
    db: SqliteDatabase, tmp_path: Path
) -> None:
    other = sqlite3.connect(tmp_path / "scratch.db", isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO notes (body) VALUES ('other process')")
    threading.Timer(0.3, lambda: other.execute("COMMIT")).start()

    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(tick())
    await _write(db, "after the other")
    ticker.cancel()
    other.close()

    assert ticks >= 10  # the loop ran while the BEGIN waited
    assert await _bodies(db) == ["other process", "after the other"]
