"""An alert the server answered 201 for survives kill -9, and its texts still go out.

The embedded default keeps everything in a SQLite file. A 201 is a promise to the teacher who
pressed the button: the alert is on record and help is being told. Power cuts and OOM kills do
not get to break that promise, so these tests kill a real `alertd serve` process with SIGKILL
straight after the answer and start it again on the same data directory.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import orjson
import pytest
import websockets

from alertd.testing.auth import headers_for
from alertd.testing.demo_rooms import room_for
from alertd.testing.events import alert_events, strictly_increasing

if TYPE_CHECKING:
    from conftest import AlertdProcess, AlertdProcesses

pytestmark = pytest.mark.integration

LOCKDOWN = {"kind": "lockdown", "school_id": "lincoln-hs", "room_id": "lincoln-hs-a-101"}
# Who a real lockdown at Lincoln High texts.
LINCOLN_LOCKDOWN_PHONES = {
    "+15555550111": "Officer Maria Garcia (SRO)",
    "+15555550112": "Officer James Chen (SRO)",
    "+15555550113": "Dr. Angela Brooks (principal)",
    "+15555550100": "Riverside Police Department",
    "+15555550101": "Riverside Fire & EMS",
}
# A restarted embedded server releases the claims its killed predecessor held, so texts it
# was in the middle of sending go out at once, not after a lease lapses.
TEXTS_AFTER_RESTART_SECONDS = 15


@pytest.fixture
def data_dir(tmp_path: Path, alertd_processes: AlertdProcesses) -> Path:
    """A data directory with the schema in it, as `alertd db upgrade` leaves it."""
    path = tmp_path / "alertd"
    path.mkdir()
    alertd_processes.upgrade(path)
    return path


async def raise_lockdown(
    client: httpx.AsyncClient, key: str, *, room: str = LOCKDOWN["room_id"]
) -> httpx.Response:
    body = LOCKDOWN | {"room_id": room}
    return await client.post("/v1/alerts", headers={"Idempotency-Key": key}, json=body)


async def the_event_log(server: AlertdProcess) -> list[dict[str, Any]]:
    """Every alert event a console replaying from the start is sent, up to `caught_up`
    (the notices of the texts' deliveries, which share the log, left out)."""
    events = []
    async with (
        asyncio.timeout(10),
        websockets.connect(await server.stream_url(0), proxy=None) as socket,
    ):
        while (message := json.loads(await socket.recv()))["type"] != "caught_up":
            events.append(message)
    assert message["replayed"] == len(events)
    assert strictly_increasing(e["id"] for e in events)
    return [dict(e) for e in alert_events(events)]


async def phones_texted_about(server: AlertdProcess, alert_id: str, *, expected: set[str]) -> None:
    """Wait until every expected phone got at least one text about the alert."""
    outbox = server.data_dir / "sms-outbox.jsonl"
    texted: set[str] = set()
    try:
        async with asyncio.timeout(TEXTS_AFTER_RESTART_SECONDS):
            while not expected <= texted:
                await asyncio.sleep(0.1)
                lines = outbox.read_bytes().split(b"\n")[:-1] if outbox.exists() else []
                texted = {t["to"] for t in map(orjson.loads, lines) if t["alert_id"] == alert_id}
    except TimeoutError:
        never = sorted(LINCOLN_LOCKDOWN_PHONES[p] for p in expected - texted)
        sent = outbox.read_text() if outbox.exists() else "(no texts at all)"
        pytest.fail(f"never texted: {never}\ntexts:\n{sent}\nserver log:\n{server.log.read_text()}")


async def test_a_lockdown_answered_201_survives_kill_9_and_its_texts_go_out(
    alertd_processes: AlertdProcesses, data_dir: Path
) -> None:
    server = await alertd_processes.start(data_dir)
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        client.headers.update(await headers_for(client, "district_admin"))
        raised = await raise_lockdown(client, "room-101-panic")
    server.kill()
    assert raised.status_code == 201, raised.text
    alert_id = raised.json()["id"]

    server = await alertd_processes.start(data_dir)
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        client.headers.update(await headers_for(client, "district_admin"))
        after_restart = await client.get(f"/v1/alerts/{alert_id}")
        assert after_restart.status_code == 200
        assert after_restart.json()["state"] == "raised"
        assert [e["type"] for e in after_restart.json()["timeline"]] == ["AlertRaised"]

        # The phone never heard the 201 and retries: it gets the same alert, not a second one.
        retry = await raise_lockdown(client, "room-101-panic")
        assert (retry.status_code, retry.json()["id"]) == (200, alert_id)

    assert [(e["type"], e["alert_id"]) for e in await the_event_log(server)] == [
        ("AlertRaised", alert_id)
    ]
    # The crash may have come before, during or after the texts; each person gets at least one.
    await phones_texted_about(server, alert_id, expected=set(LINCOLN_LOCKDOWN_PHONES))


async def test_every_alert_answered_2xx_before_kill_9_is_there_after_restart(
    alertd_processes: AlertdProcesses, data_dir: Path
) -> None:
    server = await alertd_processes.start(data_dir)
    limits = httpx.Limits(max_connections=30)
    async with httpx.AsyncClient(base_url=server.url, timeout=10, limits=limits) as client:
        client.headers.update(await headers_for(client, "district_admin"))
        # Thirty wall buttons in thirty rooms (one room's repeats would join one alert).
        answers = await asyncio.gather(
            *(
                raise_lockdown(client, f"button-{n}", room=room_for("lincoln-hs", n))
                for n in range(30)
            )
        )
    server.kill()
    assert [a.status_code for a in answers] == [201] * 30, [a.text for a in answers]
    raised = {f"button-{n}": a.json()["id"] for n, a in enumerate(answers)}

    server = await alertd_processes.start(data_dir)
    async with httpx.AsyncClient(base_url=server.url, timeout=10, limits=limits) as client:
        client.headers.update(await headers_for(client, "district_admin"))
        listed = (await client.get("/v1/alerts", params={"limit": 1000})).json()["alerts"]
        assert {a["id"] for a in listed} == set(raised.values())

        retries = await asyncio.gather(
            *(
                raise_lockdown(client, key, room=room_for("lincoln-hs", n))
                for n, key in enumerate(raised)
            )
        )
        assert {
            key: (r.status_code, r.json()["id"]) for key, r in zip(raised, retries, strict=True)
        } == {key: (200, alert_id) for key, alert_id in raised.items()}

    log = await the_event_log(server)
    assert len(log) == 30
    assert sorted(e["alert_id"] for e in log if e["type"] == "AlertRaised") == sorted(
        raised.values()
    )


async def test_texts_a_killed_server_was_sending_go_out_promptly_after_restart(
    alertd_processes: AlertdProcesses, data_dir: Path
) -> None:
    stuck = data_dir / "stuck-gateway"
    os.mkfifo(stuck)  # nobody reads it: the gateway hangs in the middle of sending
    server = await alertd_processes.start(data_dir, ALERTD_SMS_OUTBOX_FILE=str(stuck))
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        client.headers.update(await headers_for(client, "district_admin"))
        raised = await raise_lockdown(client, "stuck-1")
    assert raised.status_code == 201
    await asyncio.sleep(1)  # the relay has claimed the texts and is stuck on the first
    server.kill()

    server = await alertd_processes.start(data_dir)
    await phones_texted_about(server, raised.json()["id"], expected=set(LINCOLN_LOCKDOWN_PHONES))
