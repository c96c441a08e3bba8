"""The in-process event bus of the embedded default: one process, fan-out to local queues.

Publishing never waits for a subscriber. A subscriber whose bounded queue is full is marked
overflowed and told so on its next `get`, so one stalled console cannot slow the others.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from alertd.app.ports import LoggedEvent, SlowConsumer


class MemorySubscription:
    def __init__(self, bus: MemoryBus, max_queue: int) -> None:
        self._bus = bus
        self._queue: asyncio.Queue[LoggedEvent] = asyncio.Queue(maxsize=max_queue)
        self.overflowed = False

    def offer(self, logged: LoggedEvent) -> None:
        if self.overflowed:
            return
        try:
            self._queue.put_nowait(logged)
        except asyncio.QueueFull:
            self.overflowed = True

    async def get(self, timeout: float) -> LoggedEvent | None:
        if self.overflowed:
            raise SlowConsumer("subscriber queue overflowed")
        if not self._queue.empty():
            return self._queue.get_nowait()
        try:
            async with asyncio.timeout(timeout):
                return await self._queue.get()
        except TimeoutError:
            if self.overflowed:
                raise SlowConsumer("subscriber queue overflowed") from None
            return None

    def close(self) -> None:
        self._bus.unsubscribe(self)


class MemoryBus:
    """Implements `alertd.app.ports.EventBus` within one process."""

    def __init__(self) -> None:
        self._subscribers: set[MemorySubscription] = set()

    async def publish(self, events: Sequence[LoggedEvent]) -> None:
        self.fan_out(events)

    def fan_out(self, events: Sequence[LoggedEvent]) -> None:
        """Offer `events` to every subscriber, now."""
        for subscriber in list(self._subscribers):
            for logged in events:
                subscriber.offer(logged)

    def subscribe(self, *, max_queue: int) -> MemorySubscription:
        subscription = MemorySubscription(self, max_queue)
        self._subscribers.add(subscription)
        return subscription

    def unsubscribe(self, subscription: MemorySubscription) -> None:
        self._subscribers.discard(subscription)
