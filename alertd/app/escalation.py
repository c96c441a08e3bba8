"""The escalation engine: fires due escalation steps, on any instance, exactly once each.

`run_once` claims the due timers (`Store.due_escalations`, with a lease), then fires each in
one transaction of its own: the alert is read (and locked), the core decides
(`alertd.core.escalation.fire`: stop if somebody answered or the alert closed, else reach
the step's targets), the effects are queued in the outbox, the timer moves to its next
firing, and an Escalated notice is appended. A crash before the commit leaves the timer
where it was, to be fired again; a crash after it leaves the effects to the outbox.

The asyncio loop that calls it belongs to the adapter that owns the process's tasks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from alertd.app.audience import audience_of
from alertd.app.ports import Clock, EventBus, LoggedEvent, Store
from alertd.core.escalation import Escalation, fire

logger = logging.getLogger(__name__)


class EscalationEngine:
    def __init__(
        self,
        *,
        store: Store,
        bus: EventBus,
        clock: Clock,
        console_url: str | None = None,
        on_effects_queued: Callable[[], None] = lambda: None,
        batch: int = 50,
    ) -> None:
        self._store = store
        self._bus = bus
        self._clock = clock
        self._console_url = console_url
        self._on_effects_queued = on_effects_queued
        self._batch = batch

    async def run_once(self) -> bool:
        """Fire the escalations that are due; True if there may be more waiting."""
        due = await self._store.due_escalations(now=self._clock.now(), limit=self._batch)
        queued = False
        for escalation in due:
            queued = await self.fire(escalation) or queued
        if queued:
            self._on_effects_queued()
        return len(due) == self._batch

    async def fire(self, escalation: Escalation) -> bool:
        """Fire one claimed escalation step (if no other claim fired it first); True if it
        queued texts or calls."""
        now = self._clock.now()
        logged: list[LoggedEvent] = []
        async with self._store.transaction() as tx:
            if not await tx.escalation_is_current(escalation):
                # Claimed twice (its claimer was taken for dead, or two rounds raced), and
                # the other claim fired this step already: firing again would double it.
                logger.info("escalation step of %s already fired", escalation.alert_id)
                return False
            alert = await tx.get_alert(escalation.alert_id)
            if alert is None:  # pragma: no cover - timers are written with their alert
                logger.error("escalation of unknown alert %s", escalation.alert_id)
                return False
            audience = await audience_of(
                tx,
                alert.school_id,
                alert.room_id,
                console_url=self._console_url,
                drill_link=alert.drill_link,
            )
            fired = fire(escalation, alert, audience, now=now)
            await tx.queue_effects(fired.effects, school_id=alert.school_id, now=now)
            await tx.save_escalation(fired.escalation, drill=alert.drill)
            logged = await tx.append(fired.notices)
        await self._bus.publish(logged)
        return bool(fired.effects)
