"""The in-process event bus of the embedded default: one process, fan-out to local queues.

Publishing never waits for a subscriber. A subscriber whose bounded queue is full is marked
overflowed and told so on its next `get`, so one stalled console cannot slow the others.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Sequence

from alertd.app.ports import LoggedEvent, SlowConsumer


class MemorySubscription:
    """A bounded queue of one subscriber's live events.

    Written without asyncio.Queue and asyncio.timeout: with fifty consoles, each event
    woke fifty queue waits, each with a timer of its own; here a wait is one future, and the
    idle timer is armed only when the queue is empty. With a direct sink
    (`take_directly`), an event that finds its consumer waiting with nothing queued goes
    straight to the sink and wakes nothing: fifty task wake-ups per event were most of the
    event loop's share of an alert.
    """

    def __init__(self, bus: MemoryBus, max_queue: int) -> None:
        self._bus = bus
        self._max = max_queue
        self._items: deque[LoggedEvent] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._sink: Callable[[LoggedEvent], bool] | None = None
        self.overflowed = False

    def take_directly(self, sink: Callable[[LoggedEvent], bool]) -> None:
        self._sink = sink

    def offer(self, logged: LoggedEvent) -> None:
        if self.overflowed:
            return
        if self._sink is not None and not self._items and self._consumer_waiting():
            try:
                taken = self._sink(logged)
            except Exception:  # one consumer's fault stays its own: queued, its task meets it
                taken = False
            if taken:
                return
        if len(self._items) >= self._max:
            self.overflowed = True
        else:
            self._items.append(logged)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _consumer_waiting(self) -> bool:
        """The consumer is parked in `get` (woken consumers have not run yet: not waiting)."""
        return self._waiter is not None and not self._waiter.done()

    async def get(self, timeout: float) -> LoggedEvent | None:
        if self.overflowed:
            raise SlowConsumer("subscriber queue overflowed")
        if not self._items:
            loop = asyncio.get_running_loop()
            waiter = self._waiter = loop.create_future()
            idle = loop.call_later(timeout, _wake, waiter)
            try:
                await waiter
            finally:
                idle.cancel()
                self._waiter = None
            if self.overflowed:
                raise SlowConsumer("subscriber queue overflowed")
            if not self._items:
                return None
        return self._items.popleft()

    def ready(self) -> list[LoggedEvent]:
        """The events already queued, without waiting (emptied)."""
        if self.overflowed:
            raise SlowConsumer("subscriber queue overflowed")
        items = list(self._items)
        self._items.clear()
        return items

    def close(self) -> None:
        self._bus.unsubscribe(self)


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


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
