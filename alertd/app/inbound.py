"""What comes back from the provider: delivery reports, replies and key presses.

A route verifies the provider's signature first (an adapter's job) and only then calls
here. Each method is one transaction; events and notices are published after commit.

- `delivery_reported`: a status callback moves one ledger row on (never backwards); a row
  that has just failed gets a DeliveryFailed notice, and brings the alert's next escalation
  step forward (somebody was not reached: do not wait out the delay).
- `text_received`: "1"/"ACK" from a number alertd texted acknowledges, as that contact, the
  newest open alert it was told about; STOP/START opt the number out and back in; anything
  else (and anyone unknown) changes nothing.
- `key_pressed`: 1 on a call acknowledges the call's alert, as the contact called.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum

from alertd.app.audience import audience_of
from alertd.app.ports import Clock, EventBus, LoggedEvent, Store, Transaction
from alertd.core.actor import Actor, ActorKind
from alertd.core.audit import AuditEntry
from alertd.core.command import Acknowledge
from alertd.core.delivery import (
    Delivery,
    DeliveryState,
    advance,
    ledger_notices,
    masked,
    newly_failed,
)
from alertd.core.lifecycle import decide
from alertd.core.reply import Reply, parse_reply

logger = logging.getLogger(__name__)


class ReplyOutcome(StrEnum):
    ACKNOWLEDGED = "acknowledged"
    ALREADY_ACKNOWLEDGED = "already_acknowledged"
    OPTED_OUT = "opted_out"
    OPTED_IN = "opted_in"
    IGNORED = "ignored"  # unknown sender, no open alert, or a text that means nothing


@dataclass(frozen=True, slots=True)
class Reported:
    """A status report as the ledger took it: the row afterwards, None if it changed
    nothing (unknown message, a repeat, or a step backwards)."""

    delivery: Delivery | None


def contact_actor(delivery: Delivery) -> Actor:
    """The person or agency a message went to, acting on the alert (say, acknowledging)."""
    return Actor(
        id=f"contact:{delivery.recipient_id}",
        name=delivery.recipient_name,
        kind=ActorKind.CONTACT,
        role=delivery.recipient_kind,
    )


class InboundService:
    def __init__(
        self,
        *,
        store: Store,
        bus: EventBus,
        clock: Clock,
        console_url: str | None = None,
    ) -> None:
        self._store = store
        self._bus = bus
        self._clock = clock
        self._console_url = console_url

    async def delivery_reported(
        self,
        provider_ref: str,
        state: DeliveryState,
        *,
        error_code: int | None = None,
        reason: str | None = None,
    ) -> Reported:
        """A provider's report on one message. Unknown ids and stale reports change nothing."""
        now = self._clock.now()
        async with self._store.transaction() as tx:
            before = await tx.delivery_by_ref(provider_ref)
            if before is None:
                logger.info("status report for a message alertd does not know: %s", provider_ref)
                return Reported(None)
            after = advance(before, state, now=now, error=reason, error_code=error_code)
            if after is None:
                return Reported(None)
            await tx.save_deliveries([after])
            if newly_failed(before, after):
                await tx.hasten_escalations([after.alert_id], now=now)
            logged = await tx.append(ledger_notices([(before, after)], now=now))
        await self._bus.publish(logged)
        return Reported(after)

    async def text_received(self, *, sender: str, body: str) -> ReplyOutcome:
        """A text from `sender`. Free text is never logged; numbers only masked."""
        meaning = parse_reply(body)
        now = self._clock.now()
        logged: list[LoggedEvent] = []
        async with self._store.transaction() as tx:
            if meaning in (Reply.STOP, Reply.START):
                await tx.set_opt_out(sender, stopped=meaning is Reply.STOP, now=now)
                outcome = ReplyOutcome.OPTED_OUT if meaning is Reply.STOP else ReplyOutcome.OPTED_IN
                logger.info("number %s replied %s", masked(sender), meaning.value.upper())
                return outcome
            delivery = await tx.latest_delivery_to(sender)
            if delivery is None or meaning is not Reply.ACKNOWLEDGE:
                logger.info(
                    "ignored a text from %s (%s)",
                    masked(sender),
                    "unknown sender or no open alert" if delivery is None else "not a command",
                )
                return ReplyOutcome.IGNORED
            logged = await self._acknowledge(tx, delivery, via="a text reply")
        await self._bus.publish(logged)
        return ReplyOutcome.ACKNOWLEDGED if logged else ReplyOutcome.ALREADY_ACKNOWLEDGED

    async def key_pressed(self, *, call_ref: str, digits: str) -> ReplyOutcome:
        """A key pressed during a call alertd placed: 1 acknowledges as the contact called."""
        logged: list[LoggedEvent] = []
        async with self._store.transaction() as tx:
            delivery = await tx.delivery_by_ref(call_ref)
            if delivery is None or digits.strip() != "1":
                return ReplyOutcome.IGNORED
            logged = await self._acknowledge(tx, delivery, via="a key press on a call")
        await self._bus.publish(logged)
        return ReplyOutcome.ACKNOWLEDGED if logged else ReplyOutcome.ALREADY_ACKNOWLEDGED

    async def _acknowledge(
        self, tx: Transaction, delivery: Delivery, *, via: str
    ) -> list[LoggedEvent]:
        alert = await tx.get_alert(delivery.alert_id)
        if alert is None or not alert.state.is_open:
            return []
        now = self._clock.now()
        actor = contact_actor(delivery)
        audience = await audience_of(
            tx,
            alert.school_id,
            alert.room_id,
            console_url=self._console_url,
            drill_link=alert.drill_link,
        )
        decision = decide(
            alert, Acknowledge(note=f"by {via}"), actor=actor, now=now, audience=audience
        )
        if not decision.events:
            return []
        entry = AuditEntry(
            at=now,
            actor_id=actor.id,
            actor_role=actor.role,
            action="alert.acknowledge",
            school_id=alert.school_id,
            subject=alert.id,
            detail={"via": via, "delivery_id": delivery.id, "drill": alert.drill},
        )
        return await tx.record(
            decision.alert,
            new=False,
            events=decision.events,
            effects=decision.effects,
            audit=[entry],
            now=now,
        )
