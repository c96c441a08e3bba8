"""The supervised background loop that drives the outbox relay.

It wakes when a command queued effects, and polls in any case, so that effects left over
from a crash (or queued by another instance) are picked up. A failure of one round is
logged with its traceback and the loop goes on after a pause: it never dies silently.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from alertd.app.relay import OutboxRelay

logger = logging.getLogger(__name__)


class EffectWorker:
    def __init__(self, relay: OutboxRelay, *, poll_seconds: float) -> None:
        self._relay = relay
        self._poll = poll_seconds
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="alertd-effect-worker")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            try:
                while await self._relay.run_once():
                    pass
            except Exception:  # keep the loop alive; the outbox keeps the work
                logger.exception("outbox relay round failed; retrying")
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow the cancel
            # that stop() sends if it lands in the same tick as a wake-up (gh-86296).
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll):
                    await self._wake.wait()
            self._wake.clear()
