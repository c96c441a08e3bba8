"""Races that only PostgreSQL shows: requests that run truly side by side, on real TCP
connections to a real server, must come out as if they had taken turns.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from alertd.adapters.db import migrate
from alertd.adapters.db.audit import verify_chain
from alertd.adapters.db.claim import Instance
from alertd.adapters.db.engine import open_database
from alertd.adapters.db.lock import LockKind
from alertd.adapters.db.store import SqlStore
from alertd.core.kind import AlertKind
from alertd.core.repeat import PressKey
from alertd.main import create_app
from alertd.settings import Settings
from alertd.testing.auth import headers_for
from alertd.testing.live import signed_in_client
from alertd.testing.servers import fresh_database
from alertd.testing.settings import make_settings

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]
HEAD = ScriptDirectory.from_config(migrate.alembic_config("sqlite://")).get_current_head()

LOCKDOWN = {"kind": "lockdown", "school_id": "lincoln-hs", "room_id": "lincoln-hs-a-101"}
PRESSES = 12
RESPONDERS = ("sro", "dispatcher", "school_admin", "district_admin")


@pytest.fixture
def settings(tmp_path: Path, pg_database: str) -> Settings:
    return make_settings(tmp_path, pg_database)


@pytest.fixture
async def server(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """alertd on a real port, and a client with a connection for every press."""
    async with signed_in_client(create_app(settings), connections=PRESSES * 2) as client:
        yield client


async def test_presses_with_different_keys_for_one_room_and_kind_join_one_alert(
    server: httpx.AsyncClient,
) -> None:
    # A teacher hammering a button whose app makes a new key per press; a badge and a phone.
    answers = await asyncio.gather(
        *(
            server.post("/v1/alerts", json=LOCKDOWN, headers={"Idempotency-Key": f"press-{n}"})
            for n in range(PRESSES)
        )
    )

    assert len({a.json()["id"] for a in answers}) == 1, [a.text for a in answers]
    assert sorted(a.status_code for a in answers) == [200] * (PRESSES - 1) + [201]
    listed = (await server.get("/v1/alerts")).json()["alerts"]
    assert len(listed) == 1


async def test_retries_of_one_key_and_repeat_presses_together_make_one_alert(
    server: httpx.AsyncClient,
) -> None:
    same_key = [
        server.post("/v1/alerts", json=LOCKDOWN, headers={"Idempotency-Key": "flaky-network"})
        for _ in range(PRESSES // 2)
    ]
    other_keys = [
        server.post("/v1/alerts", json=LOCKDOWN, headers={"Idempotency-Key": f"again-{n}"})
        for n in range(PRESSES // 2)
    ]
    answers = await asyncio.gather(*same_key, *other_keys)

    assert len({a.json()["id"] for a in answers}) == 1, [a.text for a in answers]
    assert [a.status_code for a in answers].count(201) == 1


async def test_presses_of_one_raiser_for_other_rooms_run_side_by_side(
    server: httpx.AsyncClient, settings: Settings
) -> None:
    # Presses that could repeat one another take turns; others must not wait for them: a
    # coordinator's press for one room never holds up the same person's press for another.
    raiser = (await server.get("/v1/auth/me")).json()["id"]
    kind = AlertKind(LOCKDOWN["kind"])
    in_flight = PressKey(raiser, "lincoln-hs", LOCKDOWN["room_id"], kind, drill=False)
    other_room = LOCKDOWN | {"room_id": "lincoln-hs-a-102"}
    db = open_database(settings.resolved_database_url())
    store = SqlStore(db, instance=Instance(id="test", name="test", timeout=timedelta(seconds=5)))
    try:
        async with store.transaction() as tx:  # as if a press for room 101 were committing
            await tx.lock_press(in_flight)
            elsewhere = await server.post(
                "/v1/alerts", json=other_room, headers={"Idempotency-Key": "room-102"}
            )
            assert elsewhere.status_code == 201, elsewhere.text
            presses = [
                asyncio.create_task(
                    server.post(
                        "/v1/alerts", json=LOCKDOWN, headers={"Idempotency-Key": f"room-101-{n}"}
                    )
                )
                for n in range(2)
            ]
            while await db.read(_presses_waiting) < len(presses):
                await asyncio.sleep(0.05)  # both presses for room 101 queue behind it
            assert not any(p.done() for p in presses)
        same_room = await asyncio.gather(*presses)
    finally:
        await db.dispose()

    assert sorted(a.status_code for a in same_room) == [200, 201], [a.text for a in same_room]
    assert len({a.json()["id"] for a in same_room}) == 1
    listed = (await server.get("/v1/alerts")).json()["alerts"]
    assert sorted(a["room_id"] for a in listed) == ["lincoln-hs-a-101", "lincoln-hs-a-102"]


def _presses_waiting(conn: Connection) -> int:
    """Transactions of this database waiting for a press lock (the server is shared)."""
    waiting = (
        sa.select(sa.func.count())
        .select_from(sa.text("pg_locks"))
        .where(
            sa.text("locktype = 'advisory' AND NOT granted AND classid = :kind"),
            sa.text("database = (SELECT oid FROM pg_database WHERE datname = current_database())"),
        )
    )
    return int(conn.execute(waiting, {"kind": int(LockKind.PRESS)}).scalar_one())


async def test_responders_acknowledging_at_once_are_all_on_record(
    server: httpx.AsyncClient,
) -> None:
    raised = await server.post("/v1/alerts", json=LOCKDOWN, headers={"Idempotency-Key": "ack-1"})
    alert_id = raised.json()["id"]
    headers = [await headers_for(server, role) for role in RESPONDERS]

    answers = await asyncio.gather(
        *(server.post(f"/v1/alerts/{alert_id}/acknowledge", headers=h) for h in headers)
    )

    assert [a.status_code for a in answers] == [200] * len(RESPONDERS), [a.text for a in answers]
    alert = (await server.get(f"/v1/alerts/{alert_id}")).json()
    assert sorted(r["actor"]["role"] for r in alert["responders"]) == sorted(RESPONDERS)
    assert alert["version"] == 1 + len(RESPONDERS)  # no acknowledgement overwrote another
    acknowledged = [e for e in alert["timeline"] if e["type"] == "AlertAcknowledged"]
    assert len(acknowledged) == len(RESPONDERS)
    versions = [e["alert"]["version"] for e in alert["timeline"]]
    assert versions == list(range(1, len(RESPONDERS) + 2))


async def test_the_audit_chain_holds_when_sign_ins_and_alerts_interleave(
    server: httpx.AsyncClient, settings: Settings
) -> None:
    rooms = [f"lincoln-hs-a-10{n}" for n in range(1, 6)]
    await asyncio.gather(
        *(
            server.post(
                "/v1/alerts",
                json=LOCKDOWN | {"room_id": room, "drill": True},
                headers={"Idempotency-Key": f"audit-{room}"},
            )
            for room in rooms
        ),
        *(headers_for(server, role) for role in RESPONDERS),
        *(
            server.post("/v1/auth/token", data={"username": "sro@demo.alertd", "password": "no"})
            for _ in range(3)
        ),
    )
    db = open_database(settings.resolved_database_url())
    try:
        result = await db.read(verify_chain)
    finally:
        await db.dispose()
    assert result.ok, result
    assert result.count >= len(rooms) + len(RESPONDERS)  # raises and sign-ins, at least


@pytest.fixture
def empty_database(postgres_url: str) -> Iterator[str]:
    with fresh_database(postgres_url) as url:
        yield url


async def test_instances_starting_together_migrate_and_seed_the_demo_once(
    empty_database: str, tmp_path: Path
) -> None:
    url = empty_database
    # Every replica runs `alertd db upgrade` as it starts (each its own process).
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALERTD_")}
    env |= {"ALERTD_DATABASE_URL": url, "ALERTD_DATA_DIR": str(tmp_path)}
    upgrades = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-m", "alertd", "db", "upgrade", env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )
        for _ in range(3)
    ]  # fmt: skip
    outputs = [(await p.communicate())[0].decode() for p in upgrades]
    assert [p.returncode for p in upgrades] == [0, 0, 0], outputs
    assert await asyncio.to_thread(migrate.current_revision, url) == HEAD
    apps = [create_app(make_settings(tmp_path / f"i{n}", url)) for n in range(3)]
    async with asyncio.timeout(60):
        contexts = [app.router.lifespan_context(app) for app in apps]
        await asyncio.gather(*(c.__aenter__() for c in contexts))
        try:
            transport = httpx.ASGITransport(app=apps[0])
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                client.headers.update(await headers_for(client, "district_admin"))
                schools = (await client.get("/v1/schools")).json()
        finally:
            for context in contexts:
                await context.__aexit__(None, None, None)
    assert len(schools["schools"]) == 2
