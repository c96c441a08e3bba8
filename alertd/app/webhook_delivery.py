"""Outbound webhooks on their way out: the fan-out from the log, and the relay's handler.

- `WebhookFanout`: a supervised round that reads the log past its position and queues one
  `DeliverWebhook` effect per event and interested subscription, moving its position in the
  same transaction, so that every event is queued once, after it committed, from any
  instance. Nothing is sent from a request.
- `webhook_handler`: the relay runs each `DeliverWebhook` with it, sharing the outbox's
  claims and retries (exponential backoff). It resolves the URL's host at delivery time,
  refuses a non-public address (unless allowed), signs, posts to the very addresses it
  checked (a second lookup could be answered otherwise), and logs the attempt; the
  core (`after_attempt`) counts failures and pauses the subscription, whose notice tells
  the admins on the stream.

The subscriptions themselves, and the ports, are in `alertd.app.webhooks`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

from alertd.app.ports import Clock, DeliveryError, EventBus, LoggedEvent, LogQuery, Receipt, Store
from alertd.app.relay import EffectHandler
from alertd.app.webhooks import (
    FANOUT_RELAY,
    AddressResolver,
    WebhookStore,
    WebhookTransport,
    resolve_destination,
)
from alertd.core.delivery import DeliveryState
from alertd.core.effect import DeliverWebhook, Effect
from alertd.core.webhook import (
    AttemptOutcome,
    WebhookAttempt,
    WebhookState,
    WebhookSubscription,
    message_id,
    sign,
    wants,
)

logger = logging.getLogger(__name__)


class WebhookFanout:
    """Queues a delivery per event of the log and interested subscription. One instance at
    a time (the position's row is taken for the round's transaction)."""

    def __init__(
        self,
        *,
        store: Store,
        webhooks: WebhookStore,
        clock: Clock,
        encode: Callable[[LoggedEvent], str],
        on_effects_queued: Callable[[], None] = lambda: None,
        batch: int = 200,
    ) -> None:
        self._store = store
        self._webhooks = webhooks
        self._clock = clock
        self._encode = encode
        self._on_effects_queued = on_effects_queued
        self._batch = batch

    async def run_once(self) -> bool:
        """Queue the deliveries of the next batch of events; True if more may be waiting."""
        subscriptions = [s for s in await self._webhooks.all() if s.state is WebhookState.ACTIVE]
        queued = 0
        async with self._store.transaction() as tx:
            position = await tx.claim_relay(FANOUT_RELAY)
            if position is None:
                return False
            events = await self._store.read_log(LogQuery(after=position, limit=self._batch))
            effects = [
                _delivery(logged, subscription, self._encode(logged))
                for logged in events
                for subscription in subscriptions
                if wants(subscription, logged.event)
            ]
            if effects:
                await tx.queue_effects(effects, school_id="", now=self._clock.now())
                queued = len(effects)
            if events:
                await tx.advance_relay(FANOUT_RELAY, events[-1].id)
        if queued:
            self._on_effects_queued()
        return len(events) == self._batch


def _delivery(
    logged: LoggedEvent, subscription: WebhookSubscription, payload: str
) -> DeliverWebhook:
    event = logged.event
    return DeliverWebhook(
        alert_id=event.alert_id or "",
        subscription_id=subscription.id,
        message_id=message_id(logged.id),
        event_id=logged.id,
        event_type=event.type.value,
        payload=payload,
        drill=event.drill,
    )


def webhook_handler(
    *,
    webhooks: WebhookStore,
    transport: WebhookTransport,
    resolver: AddressResolver,
    bus: EventBus,
    clock: Clock,
    allow_private: bool,
    pause_after: int,
) -> EffectHandler:
    """Runs DeliverWebhook effects: check the destination, sign, post, log the attempt.
    A failure is retried by the relay with backoff (DeliveryError temporary) until the
    subscription is paused or deleted, which ends it (permanent)."""

    async def record(attempt: WebhookAttempt) -> list[LoggedEvent]:
        logged = await webhooks.record_attempt(attempt, pause_after=pause_after)
        await bus.publish(logged)
        return logged

    async def deliver(effect: Effect) -> Receipt:
        assert isinstance(effect, DeliverWebhook)
        subscription = await webhooks.get(effect.subscription_id)
        if subscription is None:
            raise DeliveryError("the webhook subscription was deleted", temporary=False)
        started = clock.now()
        attempt = WebhookAttempt(
            subscription_id=subscription.id,
            message_id=effect.message_id,
            event_id=effect.event_id,
            event_type=effect.event_type,
            attempted_at=started,
            outcome=AttemptOutcome.PAUSED,
            payload=effect.payload,
            manual=effect.manual,
        )
        if subscription.state is WebhookState.PAUSED and not effect.manual:
            await record(replace(attempt, error="not sent: the subscription is paused"))
            raise DeliveryError("the webhook subscription is paused", temporary=False)
        destination = await resolve_destination(
            subscription.url, resolver=resolver, allow_private=allow_private
        )
        if destination.refused is not None:
            refused = destination.refused
            await record(replace(attempt, outcome=AttemptOutcome.REFUSED, error=refused))
            raise DeliveryError(f"refused: {refused}", temporary=False)
        timestamp = int(started.timestamp())
        headers = {
            "webhook-id": effect.message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(
                secret=subscription.secret,
                message_id=effect.message_id,
                timestamp=timestamp,
                body=effect.payload,
            ),
            "content-type": "application/json",
            "user-agent": "alertd-webhooks/1",
        }
        message: str | None
        try:
            answer = await transport.post(
                subscription.url,
                body=effect.payload,
                headers=headers,
                addresses=destination.addresses,  # the ones checked: no second lookup
            )
        except DeliveryError as error:
            outcome, status, message = AttemptOutcome.FAILED, None, str(error)
        else:
            ok = 200 <= answer.status_code < 300
            outcome = AttemptOutcome.DELIVERED if ok else AttemptOutcome.FAILED
            status, message = answer.status_code, None if ok else f"HTTP {answer.status_code}"
        elapsed = clock.now() - started
        logged = await record(
            replace(
                attempt,
                outcome=outcome,
                status_code=status,
                error=message,
                duration_ms=max(0, int(elapsed.total_seconds() * 1000)),
            )
        )
        if outcome is AttemptOutcome.DELIVERED:
            return Receipt(DeliveryState.SENT)
        paused = bool(logged)  # the attempt that pauses the subscription appends its notice
        raise DeliveryError(message or "failed", temporary=not paused)

    return deliver
