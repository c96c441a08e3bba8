"""The pieces of SQLite's group commit (`alertd.adapters.db.engine.SqliteDatabase`): the
writer's turns (urgent commands first), a batch of commands sharing one transaction, and
the writer thread.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class Batch:
    """The writer's open transaction: the commands in it, each waiting for its commit on
    a future of its own (so that a cancelled one cancels nobody else), in turn order.

    Once committed they wake one at a time: each wakes the next only after it has run on
    (published its events), so that consoles send one command's events before the next
    command publishes, and a burst does not land in their queues all at once.
    """

    def __init__(self) -> None:
        self.waiting: list[asyncio.Future[None]] = []
        self.commands = 0
        self.opened_at = asyncio.get_running_loop().time()
        self._committed = False
        self._next = 0

    def settle(self, error: BaseException | None) -> None:
        """The commit's outcome: an error reaches every command at once; success wakes
        the first, which wakes the next (`wake_next`)."""
        if error is None:
            self._committed = True
            self.wake_next()
            return
        for committed in self.waiting:
            if not committed.done():
                committed.set_exception(error)
                committed.exception()  # retrieved: each command raises it itself

    def wake_next(self) -> None:
        """Wake the next command still waiting, once the batch is committed."""
        while self._committed and self._next < len(self.waiting):
            committed = self.waiting[self._next]
            self._next += 1
            if not committed.done():
                committed.set_result(None)
                return


class Turns:
    """The writer's turn, taken one command at a time: urgent commands before the others,
    each kind in arrival order."""

    def __init__(self) -> None:
        self.busy = False
        self._urgent: deque[asyncio.Future[None]] = deque()
        self._normal: deque[asyncio.Future[None]] = deque()

    def waiting(self) -> int:
        return len(self._urgent) + len(self._normal)

    async def take(self, *, urgent: bool) -> None:
        if not self.busy and not self.waiting():
            self.busy = True
            return
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        line = self._urgent if urgent else self._normal
        line.append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self.give_back()  # handed the turn just as it was cancelled: pass it on
            else:
                line.remove(turn)
            raise

    def give_back(self) -> None:
        """End the current turn: hand it to the next waiting command, if any."""
        for line in (self._urgent, self._normal):
            while line:
                turn = line.popleft()
                if not turn.done():
                    turn.set_result(None)  # stays busy: the turn passes on
                    return
        self.busy = False


class WriterThread:
    """One thread that runs the writer's work in order. Lighter than run_in_executor: one
    queue put and one call_soon_threadsafe per hop (the hops dominated the writer's CPU)."""

    def __init__(self, name: str) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    def submit(self, work: Callable[[], T]) -> asyncio.Future[T]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()

        def job() -> None:
            try:
                result = work()
            except BaseException as error:
                loop.call_soon_threadsafe(_settle_error, future, error)
            else:
                loop.call_soon_threadsafe(_settle, future, result)

        self._jobs.put(job)
        return future

    def _serve(self) -> None:
        while (job := self._jobs.get()) is not None:
            job()

    def stop(self) -> None:
        self._jobs.put(None)
        self._thread.join()


def _settle(future: asyncio.Future[T], result: T) -> None:
    if not future.done():
        future.set_result(result)


def _settle_error(future: asyncio.Future[Any], error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)
