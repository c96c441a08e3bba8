"""A stream consumer's session: replay from the log, then live, with no gap and no duplicate.

The session subscribes to the bus *before* it reads the log, so nothing committed during the
replay can slip between the two. Live events at or below the last id sent are duplicates of
the replay and are dropped; a live event whose id skips ahead reveals events published late
(or by an instance whose message was lost), which are read from the log first.
"""

from __future__ import annotations

from dataclasses import dataclass

from alertd.app.ports import EventBus, LoggedEvent, LogQuery, Store, Subscription
from alertd.core.permission import Principal, Verdict, authorize_event

REPLAY_PAGE = 500


class SinceAhead(Exception):
    def __init__(self, *, since: int, head: int) -> None:
        super().__init__(f"since={since} is past the last event id {head}")
        self.since = since
        self.head = head


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

        Raises SlowConsumer when this session's queue overflowed.
        """
        while True:
            logged = await self._subscription.get(timeout)
            if logged is None:
                return None
            if logged.id <= self.last_id:
                continue
            batch = []
            if logged.id > self.last_id + 1:
                batch = await self._store.read_log(
                    LogQuery(after=self.last_id, limit=logged.id - self.last_id - 1)
                )
            batch.append(logged)
            self._last_id = logged.id
            matching = [e for e in batch if self._filter.matches(e)]
            if matching:
                return matching

    def close(self) -> None:
        self._subscription.close()
