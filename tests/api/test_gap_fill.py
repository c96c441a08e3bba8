"""The stream's gap fill: a live event that skips ahead brings the events it skipped from the
log, every one of them, and a gap the log cannot fill ends the session with "resume", never
with an event quietly missing.

A publish can be lost between commit and send (an instance killed in between). Here the
"lost" events are committed through the store without being published, exactly as such an
instance leaves them; the next event published reveals the gap.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import websockets
from fastapi import FastAPI

from alertd.app.ports import LoggedEvent
from alertd.core.actor import Actor, ActorKind
from alertd.core.notice import Notice, NoticeType
from alertd.main import create_app
from alertd.settings import Settings
from alertd.testing.auth import token_for
from alertd.testing.clock import FakeClock
from alertd.testing.live import serving

OPERATOR = Actor("relay", "alertd", ActorKind.SYSTEM, "system")


def notice(n: int) -> Notice:
    return Notice(
        NoticeType.DELIVERIES_UPDATED,
        at=FakeClock().now(),
        actor=OPERATOR,
        school_id="lincoln-hs",
        alert_id=f"alert-{n}",
        data={"deliveries": []},
    )


async def commit_unpublished(app: FastAPI, count: int) -> list[LoggedEvent]:
    """Events committed to the log whose publish was lost."""
    async with app.state.context.store.transaction() as tx:
        return list(await tx.append([notice(n) for n in range(count)]))


@pytest.fixture
async def served(settings: Settings) -> Any:
    """The app, served on a real port (its lifespan run by the server)."""
    app = create_app(settings)
    async with serving(app) as url:
        yield app, url


async def open_console(url: str, app: FastAPI) -> Any:
    async with httpx.AsyncClient(base_url=url) as client:
        token = await token_for(client, "district_admin")
    ws = url.replace("http://", "ws://")
    socket = await websockets.connect(f"{ws}/v1/stream?access_token={token}", proxy=None)
    assert json.loads(await socket.recv())["type"] == "caught_up"
    return socket


async def test_events_whose_publish_was_lost_are_filled_from_the_log_in_order(
    served: tuple[FastAPI, str],
) -> None:
    app, live = served
    socket = await open_console(live, app)
    lost = await commit_unpublished(app, 3)
    (published,) = await commit_unpublished(app, 1)
    await app.state.context.bus.publish([published])  # the next event does reach the bus

    async with asyncio.timeout(10):
        received = [json.loads(await socket.recv()) for _ in range(4)]
    await socket.close()
    assert [m["id"] for m in received] == [e.id for e in [*lost, published]]
    assert [m["alert_id"] for m in received] == ["alert-0", "alert-1", "alert-2", "alert-0"]


async def test_a_gap_the_log_cannot_fill_closes_with_resume_not_a_silent_skip(
    served: tuple[FastAPI, str],
) -> None:
    app, live = served
    socket = await open_console(live, app)
    (last,) = await commit_unpublished(app, 1)
    await app.state.context.bus.publish([last])
    assert json.loads(await socket.recv())["id"] == last.id
    # An event id the log does not have below it: ids from another database, say.
    stray = LoggedEvent(last.id + 3, notice(99))
    await app.state.context.bus.publish([stray])

    async with asyncio.timeout(10):
        with pytest.raises(websockets.ConnectionClosed):
            while True:
                await socket.recv()
    assert socket.close_code == 4001
    assert socket.close_reason == f"missing events; resume with since={last.id}"
