"""The outbox relay: runs effects after commit, retries temporary failures, never loses one.

One `run_once` claims due effects, hands each to the handler registered for its type (all
of a batch at once: a provider's rate limiter paces them), then settles the whole batch in
one transaction: outbox rows done, due again or failed; the delivery ledger moved on
(`alertd.core.delivery`); one DeliveriesUpdated notice per alert, and a DeliveryFailed per
message that failed, appended to the log and published after commit.

Exactly once where it can be: the moment a provider returns its id for a message (a Twilio
SID), `Store.record_provider_ref` writes it in a transaction of its own. An item whose id
is on record is never sent again; it is only settled. An item whose earlier claim was never
settled (an instance died mid-send) and that has no id is sent again and marked
`repeat_possible` in the ledger, as is a retry after a send whose outcome was unknown.
A number that replied STOP is not texted: the ledger says why (Twilio's 21610).

The asyncio loop that calls it (and the wake-up signal) belongs to the adapter that owns the
process's tasks.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta

from alertd.app.ports import (
    Clock,
    DeliveryError,
    EventBus,
    OutboxItem,
    Outcome,
    Receipt,
    Settlement,
    SmsGateway,
    Store,
    VoiceGateway,
)
from alertd.core.delivery import (
    Delivery,
    DeliveryState,
    attempted,
    ledger_notices,
    newly_failed,
)
from alertd.core.effect import Effect, PlaceCall, SendSms

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
# What a number that replied STOP gets instead of a text (Twilio's own code for it).
UNSUBSCRIBED_CODE = 21610
UNSUBSCRIBED = "not sent: this number replied STOP (unsubscribed); it is texted again after START"

EffectHandler = Callable[[Effect], Awaitable[Receipt]]


def backoff(attempts: int, *, jitter: float = 0.0) -> timedelta:
    """1 s, 2 s, 4 s … capped at one minute: a stale emergency text is worth little.
    `jitter` (0 to 1) adds up to that fraction of the delay, so that many retries due at
    once (a provider's outage) do not all come back in the same second."""
    delay = min(60, 2 ** max(0, attempts - 1))
    return timedelta(seconds=delay * (1 + jitter))


def sms_handler(gateway: SmsGateway) -> EffectHandler:
    """Runs SendSms effects through an SMS gateway."""

    async def send(effect: Effect) -> Receipt:
        assert isinstance(effect, SendSms)
        return await gateway.send_sms(
            to=effect.to, body=effect.body, alert_id=effect.alert_id, drill=effect.drill
        )

    return send


def voice_handler(gateway: VoiceGateway) -> EffectHandler:
    """Runs PlaceCall effects through a voice gateway."""

    async def call(effect: Effect) -> Receipt:
        assert isinstance(effect, PlaceCall)
        return await gateway.place_call(
            to=effect.to, script=effect.script, alert_id=effect.alert_id, drill=effect.drill
        )

    return call


class OutboxRelay:
    def __init__(
        self,
        *,
        store: Store,
        bus: EventBus,
        handlers: Mapping[type[Effect], EffectHandler],
        clock: Clock,
        batch: int = 100,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._store = store
        self._bus = bus
        self._handlers = dict(handlers)
        self._clock = clock
        self._batch = batch
        self._jitter = jitter

    async def run_once(self) -> bool:
        """Run the effects that are due; True if there may be more waiting."""
        items = await self._store.due_effects(now=self._clock.now(), limit=self._batch)
        if not items:
            return False
        settlements = await asyncio.gather(*(self._run(item) for item in items))
        await self._settle(settlements)
        return len(items) == self._batch

    async def _run(self, item: OutboxItem) -> Settlement:
        effect = item.effect
        now = self._clock.now()
        if item.provider_ref is not None:
            # The provider took it before (its id is on record): never send it again.
            receipt = Receipt(DeliveryState.SENT, provider_ref=item.provider_ref)
            return Settlement(item, Outcome.DONE, now, receipt=receipt)
        if item.opted_out:
            return Settlement(
                item, Outcome.FAILED, now, error=UNSUBSCRIBED, error_code=UNSUBSCRIBED_CODE
            )
        handler = self._handlers.get(type(effect))
        try:
            if handler is None:
                raise DeliveryError(f"no handler for {type(effect).__name__}", temporary=False)
            receipt = await handler(effect)
        except DeliveryError as error:
            return self._failed(item, error)
        except Exception as error:
            # A gateway bug must not strand the batch: count it as a temporary failure,
            # so the effect is retried (and the fault is visible in the log and the ledger).
            logger.exception("handler raised for effect %s of alert %s", item.id, effect.alert_id)
            failure = DeliveryError(f"{type(error).__name__}: {error}", temporary=True)
            return self._failed(item, failure)
        if receipt.provider_ref is not None and item.delivery_id is not None:
            try:
                await self._store.record_provider_ref(
                    item.delivery_id,
                    provider_ref=receipt.provider_ref,
                    sender=receipt.sender,
                    repeat_possible=item.resumed,
                )
            except Exception:
                # The settlement below records it too; only a crash before that could
                # make this one go out again (and be marked a possible repeat).
                logger.exception("could not record %s at once", receipt.provider_ref)
        return Settlement(
            item, Outcome.DONE, self._clock.now(), receipt=receipt, repeat_possible=item.resumed
        )

    def _failed(self, item: OutboxItem, error: DeliveryError) -> Settlement:
        attempts = item.attempts + 1
        logger.warning(
            "effect %s for alert %s failed (temporary=%s, code=%s, attempt %s)",
            item.id,
            item.effect.alert_id,
            error.temporary,
            error.code,
            attempts,
        )
        now = self._clock.now()
        # The next attempt may repeat this one if it may have reached the provider.
        repeat = item.resumed or error.outcome_unknown
        if error.temporary and attempts < MAX_ATTEMPTS:
            due = now + backoff(attempts, jitter=self._jitter())
            return Settlement(
                item,
                Outcome.RETRY,
                due,
                error=str(error),
                error_code=error.code,
                repeat_possible=repeat,
            )
        return Settlement(
            item,
            Outcome.FAILED,
            now,
            error=str(error),
            error_code=error.code,
            repeat_possible=repeat,
        )

    async def _settle(self, settlements: Sequence[Settlement]) -> None:
        now = self._clock.now()
        by_delivery = {s.item.delivery_id: s for s in settlements if s.item.delivery_id}
        async with self._store.transaction() as tx:
            before = await tx.settle_effects(settlements)
            changes = [(d, _after(d, by_delivery[d.id], now=now)) for d in before]
            await tx.save_deliveries([after for _before, after in changes])
            failed = [after.alert_id for before, after in changes if newly_failed(before, after)]
            await tx.hasten_escalations(failed, now=now)  # someone was not reached
            logged = await tx.append(ledger_notices(changes, now=now))
        await self._bus.publish(logged)


def _after(delivery: Delivery, settlement: Settlement, *, now: datetime) -> Delivery:
    """The ledger row after the attempt the settlement records."""
    repeat = settlement.repeat_possible
    if settlement.outcome is not Outcome.DONE:
        state = DeliveryState.FAILED if settlement.outcome is Outcome.FAILED else None
        return attempted(
            delivery,
            state,
            now=now,
            error=settlement.error,
            error_code=settlement.error_code,
            repeat_possible=repeat,
        )
    receipt = settlement.receipt or Receipt(DeliveryState.SENT)
    return attempted(
        delivery,
        receipt.state,
        now=now,
        provider_ref=receipt.provider_ref,
        sender=receipt.sender,
        repeat_possible=repeat,
    )
