"""Local delivery in log order, each event once, whichever way it came.

An instance learns of events three ways: its own commits (at once), the Redis stream (the
other instances' commits, a few milliseconds later, occasionally out of order or twice), and
the log itself. The sequencer keeps the id of the last event handed to local subscribers
and hands them the next ones strictly in order: duplicates are dropped, and an event whose
predecessors have not arrived waits `gap_wait` for them before the log fills the gap (once
per instance, not once per console). A gap the log cannot fill is logged and passed, so that
the stream sessions' own check closes their clients with "resume", never skipping silently.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

from alertd.app.ports import LoggedEvent, Store, Unavailable
from alertd.app.stream import MissingEvents, events_between

logger = logging.getLogger(__name__)

GAP_WAIT_SECONDS = 0.01
RETRY_SECONDS = 1.0


class Sequencer:
    """Call `start_at` first; `offer` from anywhere on the loop; run `fill_gaps` as a task."""

    def __init__(
        self,
        deliver: Callable[[Sequence[LoggedEvent]], None],
        store: Store,
        *,
        gap_wait: float = GAP_WAIT_SECONDS,
    ) -> None:
        self._deliver = deliver
        self._store = store
        self._gap_wait = gap_wait
        self._pending: dict[int, LoggedEvent] = {}
        self._gap = asyncio.Event()
        self.position: int | None = None  # the last id handed on
        self.duplicates = 0
        self.filled = 0

    def start_at(self, position: int) -> None:
        self.position = position

    def offer(self, events: Sequence[LoggedEvent]) -> None:
        """Take events in any order; hand on those that are next in line."""
        if self.position is None:
            return
        for logged in events:
            if logged.id <= self.position or logged.id in self._pending:
                self.duplicates += 1
            else:
                self._pending[logged.id] = logged
        self._flush()

    def _flush(self) -> None:
        assert self.position is not None
        ready = []
        while (following := self._pending.pop(self.position + 1, None)) is not None:
            ready.append(following)
            self.position = following.id
        if ready:
            self._deliver(ready)
        if self._pending:
            self._gap.set()

    async def fill_gaps(self) -> None:
        """Forever: when events wait for missing predecessors, give those `gap_wait` to
        arrive, then read them from the log."""
        while True:
            await self._gap.wait()
            await asyncio.sleep(self._gap_wait)
            self._gap.clear()
            try:
                await self.fill_once()
            except Unavailable:
                logger.warning("cannot fill a gap in the live events: the database is down")
                await asyncio.sleep(RETRY_SECONDS)
                self._gap.set()

    async def fill_once(self) -> None:
        while self._pending and self.position is not None:
            first = min(self._pending)
            after = self.position
            try:
                missing = await events_between(self._store, after=after, before=first)
            except MissingEvents as error:
                # Not expected (ids follow commit order). Pass on; each stream session
                # checks again and has its client resume from the log rather than skip.
                logger.error("live events skip ahead: %s", error)
                self.position = max(self.position, first - 1)
                missing = []
            self.filled += len(missing)
            self.offer(missing)  # also flushes what waited for them
