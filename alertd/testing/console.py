"""A dispatch console for tests: follows /v1/stream, keeps every event, resumes after a drop.

It behaves like a real console: it remembers the last event id it received, and when its
connection drops (the instance died, Redis hiccupped, nginx restarted) it reconnects, to the
same instance or another, with `since=<last id>`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

from alertd.testing.events import NOT_EVENTS, alert_events

Message = dict[str, Any]
UrlFor = Callable[[int], Awaitable[str]]  # since -> a signed-in stream URL


class Console:
    def __init__(self, name: str) -> None:
        self.name = name
        self.events: list[Message] = []  # every event message, in the order received
        self.closes: list[tuple[int | None, str | None]] = []  # (code, reason) of each drop
        self.last_id = 0
        self._socket: ClientConnection | None = None
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()

    async def connect(self, url_for: UrlFor, *, since: int | None = None) -> None:
        """Connect (from `since`, default the last id received) and read the replay up to
        `caught_up`; then keep receiving in the background."""
        await self.disconnect()
        url = await url_for(self.last_id if since is None else since)
        socket = await websockets.connect(url, proxy=None, open_timeout=10)
        self._socket = socket
        while True:
            message: Message = json.loads(await socket.recv())
            if message["type"] == "caught_up":
                break
            self._keep(message)
        self._task = asyncio.create_task(self._receive(socket))

    @property
    def connected(self) -> bool:
        return self._task is not None and not self._task.done()

    async def disconnect(self) -> None:
        if self._socket is not None:
            await self._socket.close()
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task
        self._socket = self._task = None

    async def wait_until(self, done: Callable[[Console], bool], *, seconds: float = 60) -> None:
        """Until `done(self)` holds; TimeoutError (naming the console) otherwise."""
        try:
            async with asyncio.timeout(seconds):
                while not done(self):
                    self._changed.clear()
                    if not self.connected:
                        await asyncio.sleep(0.02)
                        continue
                    await self._changed.wait()
        except TimeoutError:
            raise TimeoutError(
                f"console {self.name}: condition not met after {seconds} s; "
                f"{len(self.events)} events, last id {self.last_id}, drops {self.closes}"
            ) from None

    def raised(self) -> list[str]:
        return [m["alert_id"] for m in alert_events(self.events) if m["type"] == "AlertRaised"]

    def ids(self) -> list[int]:
        return [m["id"] for m in self.events]

    def _keep(self, message: Message) -> None:
        if message["type"] in NOT_EVENTS:
            return
        self.events.append(message)
        self.last_id = message["id"]
        self._changed.set()

    async def _receive(self, socket: ClientConnection) -> None:
        try:
            async for raw in socket:
                self._keep(json.loads(raw))
        except websockets.ConnectionClosed:
            pass
        finally:
            self.closes.append((socket.close_code, socket.close_reason))
            self._changed.set()
