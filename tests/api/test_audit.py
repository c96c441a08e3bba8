"""The audit trail: a hash chain that `alertd audit verify` checks, readable by admins only.

The tamper tests play an attacker with access to the database: they drop the append-only
trigger, edit a row, and expect `alertd audit verify` (run as a real process) to name it.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import create_async_engine

from alertd.adapters.db.audit import read_audit, record_audit, verify_chain
from alertd.adapters.db.engine import Database, async_url, open_database
from alertd.core.audit import AuditEntry
from alertd.testing.auth import headers_for

LINCOLN, JEFFERSON = "lincoln-hs", "jefferson-es"
T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def _entry(
    i: int, *, school: str | None = LINCOLN, action: str = "alert.acknowledge"
) -> AuditEntry:
    return AuditEntry(
        at=T0 + timedelta(seconds=i),
        actor_id=f"user-{i}",
        actor_role="sro",
        action=action,
        school_id=school,
        subject=f"alert-{i}",
        detail={"n": i, "note": "room 101 ✓", "when": T0},
    )


@pytest.fixture
async def db(sqlite_url: str) -> AsyncIterator[Database]:
    database = open_database(sqlite_url, sqlite_synchronous="NORMAL")
    yield database
    await database.dispose()


def verify_cli(database_url: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    """`alertd audit verify` the way an operator runs it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALERTD_")}
    env.update(ALERTD_DATABASE_URL=database_url, ALERTD_DATA_DIR=str(data_dir))
    return subprocess.run(
        [sys.executable, "-m", "alertd", "audit", "verify"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


# --- the chain in the database -------------------------------------------------------------


async def test_concurrent_appends_form_one_valid_chain(db: Database) -> None:
    await asyncio.gather(*(record_audit(db, [_entry(i), _entry(100 + i)]) for i in range(10)))

    result = await db.read(verify_chain)
    assert (result.ok, result.count) == (True, 20)
    records = await db.read(lambda c: read_audit(c, after_id=0, limit=100))
    assert [r.id for r in records] == list(range(1, 21))
    assert records[0].entry.detail == {
        "n": records[0].entry.detail["n"],
        "note": "room 101 ✓",
        "when": "2026-11-23T08:00:00.000000Z",
    }


async def test_the_audit_log_refuses_updates_and_deletes(db: Database, sqlite_url: str) -> None:
    await record_audit(db, [_entry(1)])
    path = sqlite_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("UPDATE audit_log SET actor_id = 'someone-else'")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("DELETE FROM audit_log")


async def _record_and_close(url: str, entries: list[AuditEntry]) -> None:
    database = open_database(url)
    try:
        await record_audit(database, entries)
    finally:
        await database.dispose()


async def test_alertd_audit_verify_finds_a_tampered_row(sqlite_url: str, tmp_path: Path) -> None:
    await _record_and_close(sqlite_url, [_entry(i) for i in range(1, 6)])

    intact = verify_cli(sqlite_url, tmp_path)
    assert intact.returncode == 0, intact.stderr
    assert "audit chain ok: 5 entries" in intact.stdout

    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as conn:
        conn.execute("DROP TRIGGER audit_log_no_update")
        conn.execute(
            """UPDATE audit_log SET detail = '{"n":3,"note":"nothing happened"}' WHERE id = 3"""
        )

    tampered = verify_cli(sqlite_url, tmp_path)
    assert tampered.returncode == 1
    assert "audit chain broken at entry 3" in tampered.stdout


async def test_alertd_audit_verify_finds_a_deleted_row(sqlite_url: str, tmp_path: Path) -> None:
    await _record_and_close(sqlite_url, [_entry(i) for i in range(1, 6)])
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as conn:
        conn.execute("DROP TRIGGER audit_log_no_delete")
        conn.execute("DELETE FROM audit_log WHERE id IN (2, 5)")

    tampered = verify_cli(sqlite_url, tmp_path)
    assert tampered.returncode == 1
    assert "audit chain broken at entry 3" in tampered.stdout


@pytest.mark.integration
async def test_alertd_audit_verify_on_postgresql(pg_database: str, tmp_path: Path) -> None:
    database = open_database(pg_database)
    try:
        await asyncio.gather(*(record_audit(database, [_entry(i)]) for i in range(1, 9)))
    finally:
        await database.dispose()
    intact = verify_cli(pg_database, tmp_path)
    assert intact.returncode == 0, intact.stderr
    assert "audit chain ok: 8 entries" in intact.stdout

    engine = create_async_engine(async_url(pg_database))
    try:
        async with engine.begin() as conn:
            with pytest.raises(sa.exc.DBAPIError, match="append-only"):
                async with conn.begin_nested():
                    await conn.execute(sa.text("DELETE FROM audit_log WHERE id = 4"))
            await conn.execute(sa.text("DROP TRIGGER audit_log_append_only ON audit_log"))
            await conn.execute(sa.text("UPDATE audit_log SET actor_id = 'nobody' WHERE id = 4"))
    finally:
        await engine.dispose()
    tampered = verify_cli(pg_database, tmp_path)
    assert tampered.returncode == 1
    assert "audit chain broken at entry 4" in tampered.stdout


# --- GET /v1/audit (`client` is signed in as the demo district admin) ----------------------


async def _seed(app: FastAPI) -> None:
    """Entries at both schools and one without a school."""
    await record_audit(
        app.state.database, [_entry(1), _entry(2, school=JEFFERSON), _entry(3, school=None)]
    )


async def _read_all(
    client: httpx.AsyncClient, headers: dict[str, str] | None = None, **params: str
) -> list[dict[str, Any]]:
    """Page through with a small page size until a page comes back empty."""
    entries: list[dict[str, Any]] = []
    after = 0
    for _ in range(100):
        answer = await client.get(
            "/v1/audit", params={"after": str(after), "limit": "2", **params}, headers=headers
        )
        assert answer.status_code == 200, answer.text
        page = answer.json()
        if not page["entries"]:
            return entries
        entries.extend(page["entries"])
        after = page["next_after"]
    raise AssertionError("paging did not end")


async def test_a_district_admin_reads_every_entry_and_the_reading_is_audited(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await _seed(app)

    entries = await _read_all(client)
    assert [e["id"] for e in entries] == sorted({e["id"] for e in entries})
    seeded = [e for e in entries if e["actor_id"].startswith("user-")]
    assert [e["school_id"] for e in seeded] == [LINCOLN, JEFFERSON, None]
    assert seeded[0]["detail"] == {
        "n": 1,
        "note": "room 101 ✓",
        "when": "2026-11-23T08:00:00.000000Z",
    }
    assert any(e["action"] == "auth.login" for e in entries)  # signing in was audited

    again = (await client.get("/v1/audit", params={"limit": "1000"})).json()
    exports = [e for e in again["entries"] if e["action"] == "audit.export"]
    assert exports and all(e["actor_id"] == "demo-district_admin" for e in exports)
    assert (await app.state.database.read(verify_chain)).ok


async def test_a_school_admin_reads_only_their_schools(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await _seed(app)
    school_admin = await headers_for(client, "school_admin")  # of lincoln-hs

    entries = await _read_all(client, school_admin)
    assert entries and {e["school_id"] for e in entries} == {LINCOLN}
    # Reading one school's trail is itself audited at that school: the pages read later in
    # the same paging show the earlier pages' own audit.export entries.
    by_school = await _read_all(client, school_admin, school=LINCOLN)
    assert [e for e in by_school if e["action"] != "audit.export"] == entries
    assert all(
        e["actor_id"] == "demo-school_admin" for e in by_school if e["action"] == "audit.export"
    )

    other = await client.get("/v1/audit", params={"school": JEFFERSON}, headers=school_admin)
    assert other.status_code == 404


@pytest.mark.parametrize("role", ["staff", "sro", "dispatcher", "drill_coordinator"])
async def test_only_admins_read_the_audit_trail(
    app: FastAPI, client: httpx.AsyncClient, role: str
) -> None:
    await _seed(app)
    answer = await client.get("/v1/audit", headers=await headers_for(client, role))
    assert answer.status_code == 403
    assert answer.json()["error"] == "forbidden"


async def test_signing_in_is_required(anonymous: httpx.AsyncClient) -> None:
    assert (await anonymous.get("/v1/audit")).status_code == 401
