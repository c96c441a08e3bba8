"""The event relay: the log is the outbox of the event bus.

Every committed event (alert events and notices alike) is in the log before anyone hears of
it. Instances publish their own events to the bus straight after commit (the fast path); this
relay makes sure that a publish lost between commit and send (an instance killed in
between, a bus that was down) is found and sent, not only noticed at the next event.

A relay position ("published through": the id of the last event relayed) is kept in the
database. One instance at a time relays: a round takes the position's row for its
transaction, and the others skip the round. A round copies to the sink the events past both
the position and the newest event the sink already holds (an event older than that is
covered: a reader that sees the newer one reads the gap from the log), then moves the
position on. At least once: readers deduplicate by event id.
"""

from __future__ import annotations

import logging

from alertd.app.ports import LogQuery, LogSink, Store

logger = logging.getLogger(__name__)


class EventRelay:
    def __init__(self, *, store: Store, sink: LogSink, name: str = "bus", batch: int = 500) -> None:
        self._store = store
        self._sink = sink
        self._name = name
        self._batch = batch
        self.relayed = 0

    async def run_once(self) -> bool:
        """Copy the next batch of events the sink lacks; True if more may be waiting.
        Raises Unavailable when the database or the sink does not answer (retry later)."""
        async with self._store.transaction() as tx:
            position = await tx.claim_relay(self._name)
            if position is None:
                return False  # another instance is relaying at this moment
            head = await self._store.last_event_id()
            top = await self._sink.top()
            if top > head:
                logger.error(
                    "the bus holds event %s but the log ends at %s: it carries another "
                    "database's events (give each database its own ALERTD_REDIS_PREFIX)",
                    top,
                    head,
                )
            after = max(position, min(top, head))
            events = await self._store.read_log(LogQuery(after=after, limit=self._batch))
            if events:
                await self._sink.append(events)
                self.relayed += len(events)
            through = events[-1].id if events else after
            if through != position:
                await tx.advance_relay(self._name, through)
        return len(events) == self._batch
