"""PostgreSQL stopped mid-run: requests get 503 with Retry-After, clients retry with the same
Idempotency-Key, and in the end there is every alert once. /readyz says what is down.

The test owns its PostgreSQL server (started from Debian's binaries), so that it can stop
and start it; alertd runs as a real `alertd serve` process with Redis.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from alertd.testing.auth import headers_for
from alertd.testing.console import Console
from alertd.testing.demo_rooms import room_for
from alertd.testing.servers import PrivatePostgres, fresh_database

if TYPE_CHECKING:
    from conftest import AlertdProcesses

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

PRESSES = 12


@pytest.fixture
def own_postgres() -> Iterator[tuple[PrivatePostgres, str]]:
    """A PostgreSQL server of this test's own (it stops it), and a database on it."""
    server = PrivatePostgres()
    server.start()
    try:
        with fresh_database(server.url) as database_url:
            yield server, database_url
    finally:
        server.remove()


async def press_until_accepted(
    client: httpx.AsyncClient, n: int, refusals: list[httpx.Response]
) -> str:
    """A staff phone: retry the same press (same key) as long as the server says 503."""
    body = {
        "kind": "lockdown",
        "school_id": "lincoln-hs",
        "room_id": room_for("lincoln-hs", n),
        "drill": True,
    }
    while True:
        answer = await client.post("/v1/alerts", json=body, headers={"Idempotency-Key": f"k{n}"})
        if answer.status_code != 503:
            assert answer.status_code in (200, 201), answer.text
            return str(answer.json()["id"])
        refusals.append(answer)
        await asyncio.sleep(float(answer.headers["Retry-After"]) / 4)  # an impatient phone


async def test_postgresql_stopped_then_started_gives_503_then_every_alert_once(
    alertd_processes: AlertdProcesses,
    own_postgres: tuple[PrivatePostgres, str],
    tmp_path: Path,
    redis_url: str,
    redis_prefix: str,
) -> None:
    postgres, database_url = own_postgres
    alertd_processes.upgrade(tmp_path, database_url=database_url)
    server = await alertd_processes.start(
        tmp_path,
        database_url=database_url,
        ALERTD_REDIS_URL=redis_url,
        ALERTD_REDIS_PREFIX=redis_prefix,
        ALERTD_REPEAT_PRESS_SECONDS="0",
    )
    console = Console("dispatcher")

    async def url_for(since: int) -> str:
        return await server.stream_url(since)

    await console.connect(url_for, since=0)
    refusals: list[httpx.Response] = []
    async with httpx.AsyncClient(base_url=server.url, timeout=20) as client:
        client.headers.update(await headers_for(client, "district_admin"))
        before = [await press_until_accepted(client, n, refusals) for n in range(4)]

        postgres.stop()
        down = await client.get("/readyz")
        assert down.status_code == 503
        assert down.json() == {"status": "unavailable", "database": "down", "redis": "up"}
        refused = await client.post(
            "/v1/alerts",
            json={"kind": "fire", "school_id": "lincoln-hs", "drill": True},
            headers={"Idempotency-Key": "k-during"},
        )
        assert refused.status_code == 503
        assert int(refused.headers["Retry-After"]) > 0
        assert refused.json()["error"] == "unavailable"
        assert refused.json()["dependency"] == "database"

        # Phones keep pressing while the database is down; it comes back after a while.
        pressing = asyncio.gather(
            *(press_until_accepted(client, n, refusals) for n in range(4, PRESSES))
        )
        await asyncio.sleep(2)
        postgres.start()
        during = await pressing
        # And some of them never heard the answer: they press again, same key.
        again = [await press_until_accepted(client, n, refusals) for n in range(PRESSES)]

        assert (await client.get("/readyz")).json()["status"] == "ok"
        listed = (await client.get("/v1/alerts", params={"limit": 100})).json()["alerts"]

    assert refusals, "the presses during the outage should have been refused with 503"
    assert all(r.json()["dependency"] == "database" for r in refusals)
    assert again == before + during  # the same key, the same alert
    assert sorted(a["id"] for a in listed) == sorted(set(before + during))
    assert len(listed) == PRESSES  # none lost, none doubled
    # The console, cut off or not, ends up with each alert raised once.
    if not console.connected:
        await console.connect(url_for)
    await console.wait_until(lambda c: set(c.raised()) >= set(listed_ids(listed)))
    assert sorted(console.raised()) == sorted(listed_ids(listed))
    await console.disconnect()


def listed_ids(listed: list[dict[str, str]]) -> list[str]:
    return [a["id"] for a in listed]
