"""The outbox relay: runs effects after commit, retries temporary failures, never loses one.

One `run_once` claims due effects, hands each to the handler registered for its type, then
settles the whole batch in one transaction: outbox rows done, due again or failed; the
delivery ledger moved on (`alertd.core.delivery`); one DeliveriesUpdated notice per alert
appended to the log and published after commit, so consoles see who was reached.

The asyncio loop that calls it (and the wake-up signal) belongs to the adapter that owns the
process's tasks.
"""

from __future__ import annotations

import logging
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
)
from alertd.core.delivery import Delivery, DeliveryState, attempted, deliveries_updated
from alertd.core.effect import Effect, SendSms

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8

EffectHandler = Callable[[Effect], Awaitable[Receipt]]


def backoff(attempts: int) -> timedelta:
    """1 s, 2 s, 4 s … capped at one minute: a stale emergency text is worth little."""
    return timedelta(seconds=min(60, 2 ** max(0, attempts - 1)))


def sms_handler(gateway: SmsGateway) -> EffectHandler:
    """Runs SendSms effects through an SMS gateway."""

    async def send(effect: Effect) -> Receipt:
        assert isinstance(effect, SendSms)
        return await gateway.send_sms(
            to=effect.to, body=effect.body, alert_id=effect.alert_id, drill=effect.drill
        )

    return send


class OutboxRelay:
    def __init__(
        self,
        *,
        store: Store,
        bus: EventBus,
        handlers: Mapping[type[Effect], EffectHandler],
        clock: Clock,
        batch: int = 100,
    ) -> None:
        self._store = store
        self._bus = bus
        self._handlers = dict(handlers)
        self._clock = clock
        self._batch = batch

    async def run_once(self) -> bool:
        """Run the effects that are due; True if there may be more waiting."""
        items = await self._store.due_effects(now=self._clock.now(), limit=self._batch)
        if not items:
            return False
        settlements = [await self._run(item) for item in items]
        await self._settle(settlements)
        return len(items) == self._batch

    async def _run(self, item: OutboxItem) -> Settlement:
        effect = item.effect
        handler = self._handlers.get(type(effect))
        try:
            if handler is None:
                raise DeliveryError(f"no handler for {type(effect).__name__}", temporary=False)
            receipt = await handler(effect)
        except DeliveryError as error:
            return self._failed(item, str(error), temporary=error.temporary)
        except Exception as error:
            # A gateway bug must not strand the batch: count it as a temporary failure,
            # so the effect is retried (and the fault is visible in the log and the ledger).
            logger.exception("handler raised for effect %s of alert %s", item.id, effect.alert_id)
            return self._failed(item, f"{type(error).__name__}: {error}", temporary=True)
        return Settlement(item, Outcome.DONE, self._clock.now(), receipt=receipt)

    def _failed(self, item: OutboxItem, error: str, *, temporary: bool) -> Settlement:
        attempts = item.attempts + 1
        logger.warning(
            "effect %s for alert %s failed (temporary=%s, attempt %s)",
            item.id,
            item.effect.alert_id,
            temporary,
            attempts,
        )
        now = self._clock.now()
        if temporary and attempts < MAX_ATTEMPTS:
            return Settlement(item, Outcome.RETRY, now + backoff(attempts), error=error)
        return Settlement(item, Outcome.FAILED, now, error=error)

    async def _settle(self, settlements: Sequence[Settlement]) -> None:
        now = self._clock.now()
        by_delivery = {s.item.delivery_id: s for s in settlements if s.item.delivery_id}
        async with self._store.transaction() as tx:
            before = await tx.settle_effects(settlements)
            changed = [_after(d, by_delivery[d.id], now=now) for d in before]
            await tx.save_deliveries(changed)
            logged = await tx.append(deliveries_updated(changed, now=now))
        await self._bus.publish(logged)


def _after(delivery: Delivery, settlement: Settlement, *, now: datetime) -> Delivery:
    """The ledger row after the attempt the settlement records."""
    if settlement.outcome is Outcome.RETRY:
        return attempted(delivery, None, now=now, error=settlement.error)
    if settlement.outcome is Outcome.FAILED:
        return attempted(delivery, DeliveryState.FAILED, now=now, error=settlement.error)
    receipt = settlement.receipt or Receipt(DeliveryState.SENT)
    return attempted(delivery, receipt.state, now=now, provider_ref=receipt.provider_ref)
