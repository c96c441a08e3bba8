"""PostgreSQL, the scale-out database: the migrations build the schema, and alerts run on it.

The same migrations must build the same schema on SQLite (the embedded default) and on
PostgreSQL, so the migration checks run on both.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import create_async_engine

from alertd.adapters.db import migrate
from alertd.adapters.db.audit import append_audit, read_audit, verify_chain
from alertd.adapters.db.claim import Instance
from alertd.adapters.db.engine import async_url, open_database
from alertd.adapters.db.event_log import append_events
from alertd.adapters.db.schema import metadata
from alertd.adapters.db.store import SqlStore
from alertd.app.ports import LogQuery
from alertd.core.actor import Actor
from alertd.core.audit import AuditEntry
from alertd.core.notice import Notice, NoticeType
from alertd.main import create_app
from alertd.settings import Settings
from alertd.testing.auth import headers_for
from alertd.testing.events import strictly_increasing
from alertd.testing.servers import fresh_database
from alertd.testing.settings import make_settings

pytestmark = pytest.mark.integration

HEAD = ScriptDirectory.from_config(migrate.alembic_config("sqlite://")).get_current_head()
NURSE_CALL = {"kind": "medical", "school_id": "lincoln-hs", "room_id": "lincoln-hs-a-101"}
# A real medical alert at Lincoln High texts its two SROs, the principal and both agencies.
LINCOLN_TEXTS = 5


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database nothing has touched yet: no tables, no alembic_version."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    with fresh_database(request.getfixturevalue("postgres_url")) as url:
        yield url


async def upgrade(url: str) -> None:
    async with asyncio.timeout(60):
        await asyncio.to_thread(migrate.upgrade, url)


async def current_revision(url: str) -> str | None:
    async with asyncio.timeout(30):
        return await asyncio.to_thread(migrate.current_revision, url)


async def table_names(url: str) -> set[str]:
    engine = create_async_engine(async_url(url))
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda c: sa.inspect(c).get_table_names()))
    finally:
        await engine.dispose()


async def schema_differences(url: str) -> list[object]:
    """What Alembic's autogenerate would change to make the database match the code."""
    engine = create_async_engine(async_url(url))

    def compare(sync_conn: sa.Connection) -> list[object]:
        context = MigrationContext.configure(sync_conn, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))

    try:
        async with engine.connect() as conn:
            return await conn.run_sync(compare)
    finally:
        await engine.dispose()


@asynccontextmanager
async def alertd(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An alertd app with its start-up and shutdown run, and a client talking to it."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://alertd.test") as client:
            client.headers.update(await headers_for(client, "district_admin"))
            yield client


async def raise_nurse_call(client: httpx.AsyncClient, *, key: str) -> str:
    response = await client.post("/v1/alerts", headers={"Idempotency-Key": key}, json=NURSE_CALL)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def texts_sent(settings: Settings, alert_id: str, *, count: int) -> list[dict[str, Any]]:
    """Wait until the embedded SMS gateway has sent `count` texts about the alert."""
    outbox = settings.resolved_sms_outbox()
    async with asyncio.timeout(10):
        while True:
            lines = outbox.read_bytes().split(b"\n")[:-1] if outbox.exists() else []
            texts = [t for t in map(orjson.loads, lines) if t["alert_id"] == alert_id]
            if len(texts) >= count:
                return texts
            await asyncio.sleep(0.05)


async def test_migrations_build_an_empty_database_up_to_head(empty_database: str) -> None:
    assert await current_revision(empty_database) is None

    await upgrade(empty_database)

    assert await current_revision(empty_database) == HEAD
    assert set(metadata.tables) <= await table_names(empty_database)


async def test_upgrading_a_database_already_at_head_keeps_its_alerts_and_its_log(
    empty_database: str, tmp_path: Path
) -> None:
    await upgrade(empty_database)
    settings = make_settings(tmp_path, empty_database)
    async with alertd(settings) as client:
        alert_id = await raise_nurse_call(client, key="nurse-call-before-upgrade")
        await texts_sent(settings, alert_id, count=LINCOLN_TEXTS)

    await upgrade(empty_database)

    assert await current_revision(empty_database) == HEAD
    async with alertd(settings) as client:
        response = await client.get(f"/v1/alerts/{alert_id}")
        assert response.status_code == 200
        assert [e["id"] for e in response.json()["timeline"]] == [1]
        # The log carries on where it was (after the notices of the texts), not at 1 again.
        sro = await headers_for(client, "sro")
        await client.post(f"/v1/alerts/{alert_id}/acknowledge", headers=sro)
        timeline = (await client.get(f"/v1/alerts/{alert_id}")).json()["timeline"]
        assert [e["type"] for e in timeline] == ["AlertRaised", "AlertAcknowledged"]
        assert timeline[1]["id"] > 1


async def test_the_migrations_build_exactly_the_schema_the_code_declares(
    empty_database: str,
) -> None:
    await upgrade(empty_database)

    assert await schema_differences(empty_database) == []


async def test_a_medical_alert_runs_its_whole_course_on_postgresql(
    tmp_path: Path, pg_database: str
) -> None:
    settings = make_settings(tmp_path, pg_database)
    async with alertd(settings) as client:
        alert_id = await raise_nurse_call(client, key="nurse-call-1")
        sro = await headers_for(client, "sro")
        steps = [
            ("acknowledge", None, "acknowledged"),
            ("status", {"status": "en_route"}, "responding"),
            ("status", {"status": "on_scene", "note": "with the nurse"}, "responding"),
            ("resolve", {"note": "student went home with a parent"}, "resolved"),
        ]
        for action, body, state in steps:
            response = await client.post(f"/v1/alerts/{alert_id}/{action}", json=body, headers=sro)
            assert response.status_code == 200, response.text
            assert response.json()["state"] == state

        alert = (await client.get(f"/v1/alerts/{alert_id}")).json()
        texts = await texts_sent(settings, alert_id, count=LINCOLN_TEXTS)

    assert alert["state"] == "resolved"
    assert [(r["actor"]["role"], r["status"]) for r in alert["responders"]] == [("sro", "on_scene")]
    assert [(e["type"], e["alert"]["state"]) for e in alert["timeline"]] == [
        ("AlertRaised", "raised"),
        ("AlertAcknowledged", "acknowledged"),
        ("ResponderStatusReported", "responding"),
        ("ResponderStatusReported", "responding"),
        ("AlertResolved", "resolved"),
    ]
    assert strictly_increasing(e["id"] for e in alert["timeline"])
    assert [e["data"].get("status") for e in alert["timeline"]] == [
        None,
        None,
        "en_route",
        "on_scene",
        None,
    ]
    assert all(t["body"].startswith("EMERGENCY: MEDICAL at Lincoln High School") for t in texts)


async def test_events_and_audit_entries_read_back_as_appended_on_postgresql(
    pg_database: str,
) -> None:
    # On PostgreSQL both are appended with their rows in one JSON parameter: nothing of an
    # event or an entry may change on the way (not a microsecond, not a key of the body).
    at = datetime(2026, 12, 7, 21, 4, 3, 123456, tzinfo=UTC)
    actor = Actor("user-1", "Pat Doe")
    notices = [
        Notice(NoticeType.CAMERA_OFFLINE, at, actor, "lincoln-hs", data={"camera_id": "c1"}),
        Notice(NoticeType.CAMERA_ONLINE, at + timedelta(microseconds=1), actor, None, drill=True),
    ]
    entries = [
        AuditEntry(at, "user-1", "school_admin", "camera.view", "lincoln-hs", "c1", {"n": 1}),
        AuditEntry(at, "user-1", "school_admin", "audit.export", None, None, {"rows": [1, 2]}),
    ]
    db = open_database(pg_database)
    try:
        for _ in range(2):
            async with db.write() as session:
                logged = await session.run(lambda conn: append_events(conn, notices))
                await session.run(lambda conn: append_audit(conn, entries))
        log = await SqlStore(db, instance=Instance("t", "t", timedelta(seconds=5))).read_log(
            LogQuery(after=0, limit=10)
        )
        rows = await db.read(lambda conn: conn.execute(sa.text("SELECT id, at FROM events")).all())
        audit = await db.read(read_audit)
        chain = await db.read(verify_chain)
    finally:
        await db.dispose()

    assert [item.id for item in logged] == [3, 4]
    assert [(item.id, item.event) for item in log] == list(enumerate(notices * 2, start=1))
    assert sorted(rows) == [(n, e.at) for n, e in enumerate(notices * 2, start=1)]
    assert [(r.id, r.entry) for r in audit] == list(enumerate(entries * 2, start=1))
    assert chain.ok, chain
