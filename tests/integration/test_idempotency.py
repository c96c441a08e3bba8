"""A panic button pressed twenty times at once raises one alert, texts once, logs once.

A phone on a flaky network retries; a teacher hammers the button. Every retry carries the
same Idempotency-Key, and many of them arrive together. The server must answer all of them
with the one alert, on the embedded SQLite and on PostgreSQL, over real TCP connections so
that the requests really do run side by side.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import websockets

from alertd.main import create_app
from alertd.settings import Settings
from alertd.testing.events import alert_events
from alertd.testing.live import signed_in_client
from alertd.testing.settings import make_settings

pytestmark = pytest.mark.integration

LOCKDOWN = {"kind": "lockdown", "school_id": "lincoln-hs", "room_id": "lincoln-hs-a-101"}
KEY = {"Idempotency-Key": "panic-button-7f3a"}
PRESSES = 20
# A real lockdown at Lincoln High texts its two SROs, the principal and both agencies.
LINCOLN_TEXTS = 5


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    database_url = request.getfixturevalue(
        "sqlite_url" if request.param == "sqlite" else "pg_database"
    )
    return make_settings(tmp_path, database_url)


@pytest.fixture
async def server(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """alertd on a real port, and a client with a connection for every press."""
    async with signed_in_client(create_app(settings), connections=PRESSES * 2) as client:
        yield client


async def the_event_log(client: httpx.AsyncClient) -> list[tuple[str, str]]:
    """(type, alert id) of every alert event a console replaying from the start is sent."""
    token = client.headers["Authorization"].removeprefix("Bearer ")
    base = str(client.base_url).replace("http://", "ws://").rstrip("/")
    url = f"{base}/v1/stream?since=0&access_token={token}"
    events = []
    async with asyncio.timeout(10), websockets.connect(url, proxy=None) as socket:
        while (message := json.loads(await socket.recv()))["type"] != "caught_up":
            events.append(message)
    assert message["replayed"] == len(events)
    # The notices of the texts' deliveries share the log; the alert events are what counts.
    return [(m["type"], m["alert_id"]) for m in alert_events(events)]


async def texts_sent(settings: Settings, *, at_least: int) -> list[dict[str, Any]]:
    """Wait for the embedded SMS gateway to send `at_least` texts, then let it settle."""
    outbox = settings.resolved_sms_outbox()

    def read() -> list[dict[str, Any]]:
        return [orjson.loads(line) for line in outbox.read_bytes().split(b"\n")[:-1]]

    async with asyncio.timeout(10):
        while True:
            if outbox.exists() and len(read()) >= at_least:
                break
            await asyncio.sleep(0.05)
    await asyncio.sleep(3 * settings.outbox_poll_seconds)  # room for any duplicate to show
    return read()


async def test_twenty_simultaneous_presses_raise_one_lockdown(
    server: httpx.AsyncClient, settings: Settings
) -> None:
    async with asyncio.timeout(30):
        answers = await asyncio.gather(
            *(server.post("/v1/alerts", headers=KEY, json=LOCKDOWN) for _ in range(PRESSES))
        )

    assert len({a.json()["id"] for a in answers}) == 1, [a.text for a in answers]
    alert_id = answers[0].json()["id"]
    assert sorted(a.status_code for a in answers) == [200] * (PRESSES - 1) + [201]

    listed = (await server.get("/v1/alerts")).json()["alerts"]
    assert [a["id"] for a in listed] == [alert_id]
    timeline = (await server.get(f"/v1/alerts/{alert_id}")).json()["timeline"]
    assert [e["type"] for e in timeline] == ["AlertRaised"]
    assert await the_event_log(server) == [("AlertRaised", alert_id)]

    texts = await texts_sent(settings, at_least=LINCOLN_TEXTS)
    assert len(texts) == LINCOLN_TEXTS, "each person is texted once, not once per press"
    assert {t["alert_id"] for t in texts} == {alert_id}


async def test_the_same_key_on_a_different_request_is_refused_and_writes_nothing(
    server: httpx.AsyncClient, settings: Settings
) -> None:
    first = await server.post("/v1/alerts", headers=KEY, json=LOCKDOWN)
    assert first.status_code == 201
    texts_before = await texts_sent(settings, at_least=LINCOLN_TEXTS)

    reused = await server.post("/v1/alerts", headers=KEY, json={**LOCKDOWN, "kind": "fire"})

    assert reused.status_code == 422
    assert reused.json()["field"] == "Idempotency-Key"
    listed = (await server.get("/v1/alerts")).json()["alerts"]
    assert [(a["id"], a["kind"]) for a in listed] == [(first.json()["id"], "lockdown")]
    assert await the_event_log(server) == [("AlertRaised", first.json()["id"])]
    assert await texts_sent(settings, at_least=LINCOLN_TEXTS) == texts_before
