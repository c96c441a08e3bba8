"""The console the simulator watches through: one stream client that timestamps every
event as it arrives, learns the alerts buttons raised over MQTT, and counts the rooms'
reports as the console sees them."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from typing import Any

from clients.python.asynchronous import AsyncAlertdClient
from clients.simulator.contract import note_version, reported_room


class Watcher:
    def __init__(self, client: AsyncAlertdClient) -> None:
        self._client = client
        self.events: Counter[str] = Counter()
        self.rooms_seen: dict[str, float] = {}  # room -> perf_counter at its first report
        self.alerts_of_actor: dict[str, str] = {}  # actor id -> the first alert it raised
        self.versions: dict[str, int] = {}  # alert id -> the highest version the stream showed
        self._caught_up = asyncio.Event()
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Follow the live stream; return once it has caught up (live events from now)."""
        self._task = asyncio.create_task(self._follow(), name="simulator-console")
        waiter = asyncio.create_task(self._caught_up.wait())
        done, _ = await asyncio.wait(
            {waiter, self._task}, timeout=30, return_when=asyncio.FIRST_COMPLETED
        )
        if self._task in done:
            waiter.cancel()
            self._task.result()  # the stream was refused: say why
        if waiter not in done:
            waiter.cancel()
            raise TimeoutError("the console's stream did not catch up within 30 s")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def alert_raised_by(self, actor_id: str, *, seconds: float = 30) -> str:
        """The id of the alert `actor_id` (a device: `device:<id>`) raised."""
        async with asyncio.timeout(seconds):
            while actor_id not in self.alerts_of_actor:
                self._changed.clear()
                await self._changed.wait()
        return self.alerts_of_actor[actor_id]

    async def until_seen(
        self, rooms: set[str], versions: dict[str, int], *, seconds: float
    ) -> None:
        """Until every room in `rooms` was seen reporting and every alert in `versions` was
        seen at least at that version (an answered action's event reaches the stream after
        its answer), or `seconds` have passed."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                while not self._has_seen(rooms, versions):
                    self._changed.clear()
                    await self._changed.wait()

    def _has_seen(self, rooms: set[str], versions: dict[str, int]) -> bool:
        return rooms <= self.rooms_seen.keys() and all(
            self.versions.get(alert_id, 0) >= version for alert_id, version in versions.items()
        )

    async def _follow(self) -> None:
        async for message in self._client.stream(since=None, control=True):
            arrived = time.perf_counter()
            kind = str(message.get("type"))
            if kind == "caught_up":
                self._caught_up.set()
                continue
            if kind == "heartbeat":
                continue
            self.events[kind] += 1
            self._note(message, kind, arrived)
            self._changed.set()

    def _note(self, message: dict[str, Any], kind: str, arrived: float) -> None:
        note_version(self.versions, message.get("alert"))
        if kind == "AlertRaised":
            actor = (message.get("actor") or {}).get("id")
            if actor is not None:
                self.alerts_of_actor.setdefault(str(actor), str(message["alert_id"]))
        room = reported_room(message)
        if room is not None:
            self.rooms_seen.setdefault(room, arrived)
