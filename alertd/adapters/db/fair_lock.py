"""A lock whose waiters take turns by lane, for SQLite's single writer.

Every write of the process waits for the one SQLite writer. With a plain FIFO lock, a flood
of presses for one school (a lockdown, every teacher pressing) queues hundreds of
transactions, and a medical alert in another building waits behind all of them. Here each
waiter names a lane (for a raise: its school and kind), and the lock is handed round-robin
from lane to lane: a transaction of a lane nobody else is in waits for at most one
transaction of each busy lane, however deep their queues. Within a lane, first come, first
served, so presses of one flood keep their order.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager

DEFAULT_LANE = "default"


class FairLock:
    def __init__(self) -> None:
        self._held = False
        # Lanes with waiters, in the order they get their next turn.
        self._lanes: OrderedDict[Hashable, deque[asyncio.Future[None]]] = OrderedDict()

    @property
    def locked(self) -> bool:
        return self._held

    def waiting(self) -> int:
        return sum(len(queue) for queue in self._lanes.values())

    @asynccontextmanager
    async def hold(self, lane: Hashable = DEFAULT_LANE) -> AsyncIterator[None]:
        await self.acquire(lane)
        try:
            yield
        finally:
            self.release()

    async def acquire(self, lane: Hashable = DEFAULT_LANE) -> None:
        if not self._held and not self._lanes:
            self._held = True
            return
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._lanes.setdefault(lane, deque()).append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self.release()  # handed the lock just as it was cancelled: pass it on
            else:
                self._forget(lane, turn)
            raise

    def release(self) -> None:
        """Hand the lock to the first waiter of the next lane, or free it."""
        assert self._held, "release of a FairLock that is not held"
        while self._lanes:
            lane, queue = next(iter(self._lanes.items()))
            turn = queue.popleft()
            if queue:
                self._lanes.move_to_end(lane)  # its next waiter comes after the other lanes
            else:
                del self._lanes[lane]
            if not turn.done():  # a cancelled waiter is skipped
                turn.set_result(None)  # still held: now by that waiter
                return
        self._held = False

    def _forget(self, lane: Hashable, turn: asyncio.Future[None]) -> None:
        queue = self._lanes.get(lane)
        if queue is None:
            return
        try:
            queue.remove(turn)
        except ValueError:
            return
        if not queue:
            del self._lanes[lane]
