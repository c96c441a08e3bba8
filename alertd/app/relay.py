"""The outbox relay: runs effects after commit, retries temporary failures, never loses one.

One `run_once` claims due effects and runs each through its gateway. The asyncio loop that
calls it (and the wake-up signal) belongs to the adapter that owns the process's tasks.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from alertd.app.ports import Clock, DeliveryError, OutboxItem, SmsGateway, Store
from alertd.core.effect import SendSms

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8


def backoff(attempts: int) -> timedelta:
    """1 s, 2 s, 4 s … capped at one minute: a stale emergency text is worth little."""
    return timedelta(seconds=min(60, 2 ** max(0, attempts - 1)))


class OutboxRelay:
    def __init__(self, *, store: Store, sms: SmsGateway, clock: Clock, batch: int = 100) -> None:
        self._store = store
        self._sms = sms
        self._clock = clock
        self._batch = batch

    async def run_once(self) -> bool:
        """Run the effects that are due; True if there may be more waiting."""
        items = await self._store.due_effects(now=self._clock.now(), limit=self._batch)
        done: list[int] = []
        for item in items:
            effect = item.effect
            try:
                if isinstance(effect, SendSms):
                    await self._sms.send_sms(
                        to=effect.to, body=effect.body, alert_id=effect.alert_id, drill=effect.drill
                    )
            except DeliveryError as error:
                await self._failed(item, str(error), temporary=error.temporary)
                continue
            except Exception as error:
                # A gateway bug must not strand the batch: count it as a temporary failure,
                # so the text is retried (and the fault is visible in the log and the row).
                logger.exception(
                    "gateway raised for effect %s of alert %s", item.id, effect.alert_id
                )
                await self._failed(item, f"{type(error).__name__}: {error}", temporary=True)
                continue
            done.append(item.id)
        if done:
            await self._store.complete_effects(done, now=self._clock.now())
        return len(items) == self._batch

    async def _failed(self, item: OutboxItem, error: str, *, temporary: bool) -> None:
        attempts = item.attempts + 1
        if temporary and attempts < MAX_ATTEMPTS:
            at = self._clock.now() + backoff(attempts)
            await self._store.retry_effect(item.id, at=at, error=error)
        else:
            await self._store.fail_effect(item.id, now=self._clock.now(), error=error)
        logger.warning(
            "effect %s for alert %s failed (temporary=%s, attempt %s)",
            item.id,
            item.effect.alert_id,
            temporary,
            attempts,
        )
