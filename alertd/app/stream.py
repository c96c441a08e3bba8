"""A stream consumer's session: replay from the log, then live, with no gap and no duplicate.

The session subscribes to the bus *before* it reads the log, so nothing committed during the
replay can slip between the two. Live events at or below the last id sent are duplicates of
the replay and are dropped; a live event whose id skips ahead reveals events published late
(or by an instance whose message was lost), which are read from the log first, and every
one of them must be there: a gap the log cannot fill ends the session (`MissingEvents`) rather
than skipping an event, and the client resumes from the last id it received.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from alertd.app.ports import EventBus, LoggedEvent, LogQuery, Store, Subscription
from alertd.core.permission import Principal, Verdict, authorize_event

REPLAY_PAGE = 500
# How often, and how far apart, the log is asked for the events of a gap before giving up.
GAP_ATTEMPTS = 3
GAP_RETRY_SECONDS = 0.05


class SinceAhead(Exception):
    def __init__(self, *, since: int, head: int) -> None:
        super().__init__(f"since={since} is past the last event id {head}")
        self.since = since
        self.head = head


class MissingEvents(Exception):
    """A live event revealed a gap that the log did not fill: the session cannot go on
    without skipping events. The client resumes with since=<last id received>."""

    def __init__(self, *, after: int, before: int, missing: list[int]) -> None:
        shown = ", ".join(map(str, missing[:5])) + (" ..." if len(missing) > 5 else "")
        super().__init__(f"events {shown} (between {after} and {before}) are not in the log")
        self.after = after
        self.before = before
        self.missing = missing


async def events_between(store: Store, *, after: int, before: int) -> list[LoggedEvent]:
    """Every event with after < id < before, from the log, checked one by one.

    Ids are handed out in commit order, so an event at `before` means every id below it is
    committed; a read that still misses one is retried briefly (a lagging connection) and
    then refused with MissingEvents, never passed over.
    """
    wanted = list(range(after + 1, before))
    found: list[LoggedEvent] = []
    for attempt in range(GAP_ATTEMPTS):
        if attempt:
            await asyncio.sleep(GAP_RETRY_SECONDS)
        found = await _read_between(store, after, before)
        if [e.id for e in found] == wanted:
            return found
    have = {e.id for e in found}
    raise MissingEvents(after=after, before=before, missing=[i for i in wanted if i not in have])


async def _read_between(store: Store, after: int, before: int) -> list[LoggedEvent]:
    found: list[LoggedEvent] = []
    cursor = after
    while cursor < before - 1:
        query = LogQuery(after=cursor, limit=min(REPLAY_PAGE, before - 1 - cursor))
        page = [e for e in await store.read_log(query) if e.id < before]
        if not page:
            break
        found.extend(page)
        cursor = page[-1].id
    return found


@dataclass(frozen=True, slots=True)
class StreamFilter:
    """What one subscriber receives: the schools it asked for (None: all it may see), and
    only the events its principal may receive: alerts it may view (the same rule as
    GET /v1/alerts/{id}) and the notices its role may see (`authorize_event`). A notice of
    no school (district-wide) passes the school filter."""

    principal: Principal
    school_ids: frozenset[str] | None = None

    def matches(self, logged: LoggedEvent) -> bool:
        school = logged.event.school_id
        if self.school_ids is not None and school is not None and school not in self.school_ids:
            return False
        return authorize_event(self.principal, logged.event) is Verdict.ALLOW


class StreamSession:
    """Iterate with `next_batch`; call `close` when done. Not safe to share between tasks."""

    def __init__(
        self,
        *,
        store: Store,
        bus: EventBus,
        since: int | None,
        stream_filter: StreamFilter,
        max_queue: int,
    ) -> None:
        self._store = store
        self._filter = stream_filter
        self.since = since
        self._subscription: Subscription = bus.subscribe(max_queue=max_queue)
        self._last_id: int | None = None
        self.replayed = 0

    @property
    def last_id(self) -> int:
        """The id of the last event this session has passed (sent or filtered out)."""
        assert self._last_id is not None, "call start() first"
        return self._last_id

    async def start(self) -> list[LoggedEvent]:
        """Begin: with `since`, the first page of the replay; without, nothing (live only).

        Raises SinceAhead if `since` is past the head of the log: the client's ids come from
        another log (a restored or replaced database), and resuming would skip events.
        """
        head = await self._store.last_event_id()
        if self.since is None:
            self._last_id = head
            return []
        if self.since > head:
            raise SinceAhead(since=self.since, head=head)
        self._last_id = self.since
        return await self.replay_page()

    async def replay_page(self) -> list[LoggedEvent]:
        """The next page of committed events after `last_id`; empty once caught up."""
        query = LogQuery(after=self.last_id, limit=REPLAY_PAGE)
        page = await self._store.read_log(query)
        if page:
            self._last_id = page[-1].id
        matching = [e for e in page if self._filter.matches(e)]
        self.replayed += len(matching)
        return matching

    async def next_live(self, timeout: float) -> list[LoggedEvent] | None:
        """The next live events in id order (gap filled from the log); None when idle.

        Raises SlowConsumer when this session's queue overflowed, MissingEvents when a gap
        cannot be filled from the log.
        """
        while True:
            first = await self._subscription.get(timeout)
            if first is None:
                return None
            batch: list[LoggedEvent] = []
            for logged in [first, *self._subscription.ready()]:  # all that is queued
                if logged.id <= self.last_id:
                    continue
                if logged.id > self.last_id + 1:
                    batch += await events_between(self._store, after=self.last_id, before=logged.id)
                batch.append(logged)
                self._last_id = logged.id
            matching = [e for e in batch if self._filter.matches(e)]
            if matching:
                return matching

    def send_live_directly(self, send_now: Callable[[LoggedEvent], bool]) -> None:
        """Once caught up: a live event that arrives while this session waits in `next_live`
        and is next in order goes to `send_now` at once (True: sent) instead of waking the
        session. An event `send_now` refuses, or after a gap, takes the usual way."""
        self._subscription.take_directly(lambda logged: self._take_now(logged, send_now))

    def _take_now(self, logged: LoggedEvent, send_now: Callable[[LoggedEvent], bool]) -> bool:
        last = self.last_id
        if logged.id <= last:
            return True  # a duplicate of what was replayed or sent
        if logged.id > last + 1:
            return False  # a gap: `next_live` fills it from the log first
        if self._filter.matches(logged) and not send_now(logged):
            return False
        self._last_id = logged.id
        return True

    def close(self) -> None:
        self._subscription.close()
