"""The live stream on the embedded default: replay, then live, no gap, no duplicate."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import os
import re
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from alertd.main import create_app
from alertd.testing.auth import headers_for, token_for
from alertd.testing.demo_rooms import room_for
from alertd.testing.events import NOT_EVENTS, alert_events, is_alert_event, strictly_increasing
from alertd.testing.live import serving
from alertd.testing.settings import make_settings

LINCOLN, ROOM = "lincoln-hs", "lincoln-hs-a-101"
JEFFERSON, JEFFERSON_ROOM = "jefferson-es", "jefferson-es-a-101"


async def ws_url(base: str, query: str = "") -> str:
    """The stream URL for a console signed in as the district admin."""
    async with httpx.AsyncClient(base_url=base) as client:
        token = await token_for(client, "district_admin")
    separator = "&" if query else "?"
    return base.replace("http://", "ws://") + f"/v1/stream{query}{separator}access_token={token}"


_rooms = itertools.count()  # every raise in another room, across calls


async def raise_alerts(
    base: str, count: int, *, prefix: str, school: str = LINCOLN, pause: float = 0
) -> list[str]:
    """Raise `count` drills, each in another room (separate emergencies, not repeat presses)."""
    ids = []
    async with httpx.AsyncClient(base_url=base) as client:
        client.headers.update(await headers_for(client, "district_admin"))
        for n in range(count):
            answer = await client.post(
                "/v1/alerts",
                json={
                    "kind": "staff_assist",
                    "school_id": school,
                    "room_id": room_for(school, next(_rooms)),
                    "drill": True,
                },
                headers={"Idempotency-Key": f"{prefix}-{n}"},
            )
            assert answer.status_code == 201, answer.text
            ids.append(answer.json()["id"])
            if pause:
                await asyncio.sleep(pause)
    return ids


async def receive(socket_: Any, timeout: float = 5) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        message: dict[str, Any] = json.loads(await socket_.recv())
    return message


async def quiet_period(socket_: Any, seconds: float) -> list[dict[str, Any]]:
    """Everything that arrives in the next `seconds` (expected: no alert events)."""
    messages: list[dict[str, Any]] = []
    try:
        async with asyncio.timeout(seconds):
            while True:
                messages.append(json.loads(await socket_.recv()))
    except TimeoutError:
        return messages


# Texts go out after each raise; the notices of their delivery share the log and its ids.


async def events_until(
    socket_: Any, count: int, *, seen: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """Read until `count` alert events arrived; return them. Every event read (notices
    too, not heartbeats or caught_up) is also appended to `seen`."""
    events: list[dict[str, Any]] = []
    while len(events) < count:
        message = await receive(socket_)
        if message["type"] in NOT_EVENTS:
            continue
        if seen is not None:
            seen.append(message)
        if is_alert_event(message):
            events.append(message)
    return events


async def test_replay_then_caught_up_then_live(live_url: str) -> None:
    raised = await raise_alerts(live_url, 3, prefix="before")
    async with websockets.connect(await ws_url(live_url, "?since=0")) as console:
        replayed: list[dict[str, Any]] = []
        while (message := await receive(console))["type"] != "caught_up":
            replayed.append(message)
        caught_up = message
        live_ids = await raise_alerts(live_url, 2, prefix="after")
        live = await events_until(console, 2)
    replayed_alerts = alert_events(replayed)
    assert [m["alert_id"] for m in replayed_alerts] == raised
    assert [m["id"] for m in replayed][:1] == [1]
    assert caught_up == {"id": replayed[-1]["id"], "type": "caught_up", "replayed": len(replayed)}
    assert [m["alert_id"] for m in live] == live_ids
    assert strictly_increasing([m["id"] for m in replayed + live])
    assert live[0]["id"] > caught_up["id"]
    assert all(m["type"] == "AlertRaised" and m["drill"] is True for m in replayed_alerts + live)


async def test_without_since_the_stream_starts_at_the_head(live_url: str) -> None:
    await raise_alerts(live_url, 2, prefix="old")
    async with websockets.connect(await ws_url(live_url)) as console:
        caught_up = await receive(console)
        assert (caught_up["type"], caught_up["replayed"]) == ("caught_up", 0)
        assert caught_up["id"] >= 2
        (new_id,) = await raise_alerts(live_url, 1, prefix="new")
        (message,) = await events_until(console, 1)
    assert message["alert_id"] == new_id
    assert message["id"] > caught_up["id"]


async def test_a_client_that_drops_and_resumes_gets_every_event_once_in_order(
    live_url: str,
) -> None:
    total, drop_after = 40, 12
    writer = asyncio.create_task(raise_alerts(live_url, total, prefix="steady", pause=0.01))
    seen: list[dict[str, Any]] = []
    async with websockets.connect(await ws_url(live_url, "?since=0")) as console:
        first = await events_until(console, drop_after, seen=seen)
    last_seen = seen[-1]["id"]
    async with websockets.connect(await ws_url(live_url, f"?since={last_seen}")) as console:
        rest = await events_until(console, total - drop_after, seen=seen)
        raised = await writer
        trailing = await quiet_period(console, 0.5)
        assert not [m for m in trailing if m["type"] == "AlertRaised"], "duplicates"
        seen += [m for m in trailing if m["type"] not in NOT_EVENTS]
    # Every event of the log, once and in order, across the drop: what a full replay holds.
    async with websockets.connect(await ws_url(live_url, "?since=0")) as console:
        log: list[int] = []
        while (message := await receive(console))["type"] != "caught_up":
            log.append(message["id"])
    ids = [m["id"] for m in seen]
    assert [m["alert_id"] for m in first + rest] == raised
    assert ids == log[: len(ids)]  # (a notice may have been appended since the quiet period)


async def test_the_school_filter_keeps_ids_and_skips_other_schools(live_url: str) -> None:
    async with websockets.connect(
        await ws_url(live_url, f"?since=0&school={JEFFERSON}")
    ) as console:
        await raise_alerts(live_url, 2, prefix="lincoln")
        (jefferson_alert,) = await raise_alerts(live_url, 1, prefix="jeff", school=JEFFERSON)
        seen: list[dict[str, Any]] = []
        (message,) = await events_until(console, 1, seen=seen)
    assert message["alert_id"] == jefferson_alert
    assert message["id"] >= 3  # the ids of the skipped Lincoln events are not reused
    assert {m["school_id"] for m in seen} == {JEFFERSON}


@pytest.fixture
async def quick_server(tmp_path: Path, sqlite_url: str) -> AsyncIterator[str]:
    """A server with a short heartbeat, a tiny per-client queue and a short send timeout."""
    settings = make_settings(
        tmp_path,
        sqlite_url,
        stream_heartbeat_seconds=0.2,
        stream_queue=8,
        stream_send_timeout_seconds=0.5,
        repeat_press_seconds=0,  # it floods hundreds of alerts from one account on purpose
    )
    async with serving(create_app(settings), send_buffer_bytes=4096) as url:
        yield url


async def test_an_idle_stream_gets_heartbeats_with_the_last_id(quick_server: str) -> None:
    await raise_alerts(quick_server, 1, prefix="hb")
    async with websockets.connect(await ws_url(quick_server, "?since=0")) as console:
        messages = [await receive(console)]
        while messages[-1]["type"] != "heartbeat":
            messages.append(await receive(console, 2))
    beat, before = messages[-1], messages[-2]
    assert "caught_up" in [m["type"] for m in messages]
    assert beat["id"] == before["id"]  # the last id the stream passed


@pytest.mark.parametrize("since", ["-5", "abc", "99"])
async def test_a_bad_since_closes_with_4400_naming_it(live_url: str, since: str) -> None:
    await raise_alerts(live_url, 1, prefix="head")  # the log head is 1: 99 is from elsewhere
    async with websockets.connect(await ws_url(live_url, f"?since={since}")) as console:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await receive(console)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4400
    assert closed.value.rcvd.reason.startswith("since:")


async def stalled_client(base: str) -> socket.socket:
    """A console that completes the handshake and then never reads a byte.

    Its receive buffer is tiny, so the server's writes back up within a few messages.
    """
    loop = asyncio.get_running_loop()
    host, port = base.removeprefix("http://").split(":")
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    raw.setblocking(False)
    await loop.sock_connect(raw, (host, int(port)))
    key = base64.b64encode(os.urandom(16)).decode()
    path = (await ws_url(base, "?since=0")).split(f":{port}", 1)[1]
    await loop.sock_sendall(
        raw,
        (
            f"GET {path} HTTP/1.1\r\n"
            f"Host: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode(),
    )
    async with asyncio.timeout(5):
        status_line = (await loop.sock_recv(raw, 256)).split(b"\r\n")[0]
    assert b" 101 " in status_line, status_line
    return raw


async def stream_metrics(base: str) -> str:
    async with httpx.AsyncClient(base_url=base) as client:
        return (await client.get("/metrics")).text


async def test_served_by_uvicorn_the_stream_writes_one_prebuilt_frame_per_event(
    live_url: str,
) -> None:
    """The fast path (`adapters/ws/frames.py`) depends on uvicorn's WebSocket protocol:
    an upgrade that takes it away shows here, not as a silent loss of speed."""
    async with websockets.connect(await ws_url(live_url, "?since=0")) as console:
        while (await receive(console))["type"] != "caught_up":
            pass
        raised = await raise_alerts(live_url, 2, prefix="direct")
        live = await events_until(console, 2)
    assert [m["alert_id"] for m in live] == raised
    metrics = await stream_metrics(live_url)
    assert 'alertd_stream_sessions_total{writes="direct"} 1.0' in metrics
    assert 'writes="asgi"' not in metrics
    # The console waited for them: the publisher wrote them, and no session task woke.
    published = re.search(r'alertd_stream_events_sent_total\{phase="published"\} (\S+)', metrics)
    assert published is not None and float(published.group(1)) >= 2


async def test_a_stalled_client_does_not_delay_a_fast_one(quick_server: str) -> None:
    total = 300
    stalled = await stalled_client(quick_server)
    try:
        async with websockets.connect(await ws_url(quick_server, "?since=0")) as fast:
            assert (await receive(fast))["type"] == "caught_up"
            writer = asyncio.create_task(raise_alerts(quick_server, total, prefix="load"))
            seen: list[dict[str, Any]] = []
            received = await events_until(fast, total, seen=seen)
            raised = await writer
            # The fast console got everything, in order, while the stalled one read nothing;
            # the stalled one was cut off (it would resume by replay), the fast one stays.
            assert [m["alert_id"] for m in received] == raised
            assert strictly_increasing([m["id"] for m in seen])
            async with asyncio.timeout(10):
                while "alertd_stream_clients 1.0" not in await stream_metrics(quick_server):
                    await asyncio.sleep(0.1)
    finally:
        stalled.close()


async def test_a_client_that_falls_behind_is_closed_and_resumes_by_replay(
    quick_server: str,
) -> None:
    stalled = await stalled_client(quick_server)
    try:
        raised = await raise_alerts(quick_server, 300, prefix="flood")
        async with asyncio.timeout(10):
            while "alertd_stream_clients 0.0" not in await stream_metrics(quick_server):
                await asyncio.sleep(0.1)
    finally:
        stalled.close()
    metrics = await stream_metrics(quick_server)
    assert "alertd_stream_slow_consumers_total 1.0" in metrics
    async with websockets.connect(await ws_url(quick_server, "?since=0")) as again:
        seen: list[dict[str, Any]] = []
        replayed = await events_until(again, 300, seen=seen)
    assert [m["alert_id"] for m in replayed] == raised
    assert strictly_increasing([m["id"] for m in seen])


async def test_delivery_notices_reach_dispatchers_but_not_staff(live_url: str) -> None:
    async with httpx.AsyncClient(base_url=live_url) as http:
        staff_token = await token_for(http, "staff")
        dispatcher_token = await token_for(http, "dispatcher")
        # A campus-wide drill: staff see the alert itself, but not who was texted.
        admin = await headers_for(http, "district_admin")
        answer = await http.post(
            "/v1/alerts",
            json={"kind": "lockdown", "school_id": LINCOLN, "room_id": ROOM, "drill": True},
            headers={"Idempotency-Key": "notice-1", **admin},
        )
        alert_id = answer.json()["id"]
    base = live_url.replace("http://", "ws://") + "/v1/stream?since=0&access_token="
    async with websockets.connect(base + dispatcher_token) as dispatcher:
        notice = await receive(dispatcher)
        while notice["type"] != "DeliveriesUpdated":
            notice = await receive(dispatcher)
    assert notice["alert_id"] == alert_id
    assert notice["drill"] is True
    assert {d["state"] for d in notice["data"]["deliveries"]} == {"recorded"}
    async with websockets.connect(base + staff_token) as staff:
        messages = [await receive(staff)]
        while messages[-1]["type"] != "caught_up":
            messages.append(await receive(staff))
    assert [m["type"] for m in messages] == ["AlertRaised", "caught_up"]
    assert messages[-1]["id"] >= notice["id"]  # the notice was passed over, not pending
