"""On a busy morning every console sees every alert once, in one order, with no gaps.

Ten staff members across the district raise ten alerts each, all at the same time, against
`alertd serve` on PostgreSQL. Event ids are handed out in commit order, so a console that
follows the stream sees every event of the log (the alerts, and the notices of their texts)
with nothing missing and nothing twice, and a console that loses its connection resumes
from the last id it saw and misses nothing either.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from alertd.testing.auth import headers_for
from alertd.testing.demo_rooms import room_for
from alertd.testing.events import alert_events

if TYPE_CHECKING:
    from conftest import AlertdProcess, AlertdProcesses

pytestmark = pytest.mark.integration

WRITERS = 10
ALERTS_EACH = 10
TOTAL = WRITERS * ALERTS_EACH
DROP_AFTER = 25  # the alerts after which the second console loses its connection
ROOMS = [("lincoln-hs", "lincoln-hs-a-101"), ("jefferson-es", "jefferson-es-a-101")]

Message = dict[str, Any]


async def receive(socket: ClientConnection) -> Message:
    message: Message = json.loads(await socket.recv())
    return message


async def caught_up(socket: ClientConnection) -> tuple[Message, list[Message]]:
    """Read the replay: the events before `caught_up`, then the `caught_up` message itself."""
    replayed = []
    while (message := await receive(socket))["type"] != "caught_up":
        replayed.append(message)
    assert message["replayed"] == len(replayed)
    return message, replayed


async def events_until(socket: ClientConnection, raised: int, seen: list[Message]) -> None:
    """Append live events to `seen` (notices too) until it holds `raised` AlertRaised."""
    while len(alert_events(seen)) < raised:
        message = await receive(socket)
        if message["type"] != "heartbeat":
            seen.append(message)


async def the_whole_log(server: AlertdProcess) -> list[int]:
    """The id of every event of the log, from a replay after the morning."""
    async with websockets.connect(await server.stream_url(0), proxy=None) as socket:
        _caught_up, replayed = await caught_up(socket)
    return [m["id"] for m in replayed]


async def nothing_more(socket: ClientConnection, *, seconds: float = 0.5) -> list[Message]:
    """Whatever arrives within `seconds` after the last event (heartbeats aside)."""
    extra = []
    try:
        async with asyncio.timeout(seconds):
            while True:
                message = await receive(socket)
                if message["type"] != "heartbeat":
                    extra.append(message)
    except TimeoutError:
        pass
    return extra


async def staff_member(server: AlertdProcess, writer: int, raised: list[str]) -> None:
    """Raise ALERTS_EACH staff-assist drills one after another, each with its own key."""
    school, _room = ROOMS[writer % len(ROOMS)]
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        client.headers.update(await headers_for(client, "district_admin"))
        for n in range(ALERTS_EACH):
            # Each in another room: separate emergencies, not repeat presses that would join.
            room = room_for(school, writer * ALERTS_EACH + n)
            body = {"kind": "staff_assist", "school_id": school, "room_id": room, "drill": True}
            answer = await client.post(
                "/v1/alerts", json=body, headers={"Idempotency-Key": f"writer-{writer}-{n}"}
            )
            assert answer.status_code == 201, answer.text
            raised.append(answer.json()["id"])
            await asyncio.sleep(0.02)  # a person, not a benchmark: the morning takes a while


@pytest.fixture
async def server(
    alertd_processes: AlertdProcesses, pg_database: str, tmp_path: Path
) -> AlertdProcess:
    # One account floods alerts here on purpose: repeat presses must not join them.
    return await alertd_processes.start(
        tmp_path, database_url=pg_database, ALERTD_REPEAT_PRESS_SECONDS="0"
    )


async def busy_morning(
    server: AlertdProcess,
    raised: list[str],
    *consoles: Callable[[asyncio.Event], Coroutine[Any, Any, None]],
) -> None:
    """Run the writers while the consoles watch; `raised` gets each alert id as it is raised.

    Each console is given an event to set once it is connected; writing starts after that.
    """
    connected = [asyncio.Event() for _ in consoles]

    async def staff() -> None:
        for ready in connected:
            await ready.wait()
        await asyncio.gather(*(staff_member(server, w, raised) for w in range(WRITERS)))

    async with asyncio.timeout(90), asyncio.TaskGroup() as morning:  # generous: a loaded CI
        morning.create_task(staff())
        for console, ready in zip(consoles, connected, strict=True):
            morning.create_task(console(ready))


async def test_a_console_sees_all_alerts_of_a_busy_morning_once_and_in_order(
    server: AlertdProcess,
) -> None:
    raised: list[str] = []
    seen: list[Message] = []
    start: list[Message] = []

    async def console(ready: asyncio.Event) -> None:
        async with websockets.connect(await server.stream_url(0), proxy=None) as socket:
            start.append((await caught_up(socket))[0])
            ready.set()
            await events_until(socket, TOTAL, seen)
            seen.extend(await nothing_more(socket))

    await busy_morning(server, raised, console)

    assert start == [{"id": 0, "type": "caught_up", "replayed": 0}]
    ids = [m["id"] for m in seen]
    assert ids == (await the_whole_log(server))[: len(ids)]  # every event, once, in order
    assert {m["type"] for m in alert_events(seen)} == {"AlertRaised"}
    assert sorted(m["alert_id"] for m in alert_events(seen)) == sorted(raised)


async def test_a_console_that_drops_resumes_from_its_last_id_and_misses_nothing(
    server: AlertdProcess,
) -> None:
    before_drop: list[Message] = []
    resumed_at: list[Message] = []
    after_drop: list[Message] = []
    written_at_reconnect: list[int] = []
    raised: list[str] = []

    async def console(ready: asyncio.Event) -> None:
        async with websockets.connect(await server.stream_url(0), proxy=None) as socket:
            await caught_up(socket)
            ready.set()
            await events_until(socket, DROP_AFTER, before_drop)
        # The phone walked into a stairwell. It comes back with the last id it saw.
        last_id = before_drop[-1]["id"]
        written_at_reconnect.append(len(raised))
        url = await server.stream_url(last_id)
        async with websockets.connect(url, proxy=None) as socket:
            resumed, replayed = await caught_up(socket)
            resumed_at.append(resumed)
            after_drop.extend(replayed)
            await events_until(socket, TOTAL - DROP_AFTER, after_drop)
            after_drop.extend(await nothing_more(socket))

    await busy_morning(server, raised, console)

    assert written_at_reconnect[0] < TOTAL, "the console should come back mid-morning"
    ids = [m["id"] for m in before_drop + after_drop]
    assert ids == (await the_whole_log(server))[: len(ids)]  # nothing missed, nothing twice
    assert len(alert_events(before_drop)) == DROP_AFTER
    raised_seen = alert_events(before_drop + after_drop)
    assert sorted(m["alert_id"] for m in raised_seen) == sorted(raised)
