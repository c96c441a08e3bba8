"""The supervised background loop that drives the outbox relay and the other rounds of
background work (escalation timers, heartbeats, the event relay).

It wakes when a command queued effects, and polls in any case, so that effects left over
from a crash (or queued by another instance) are picked up. A failure of one round is
logged with its traceback and the loop goes on after a pause: it never dies silently. A
dependency that does not answer (`Unavailable`) is logged once per outage, not every round.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol

from alertd.app.ports import Unavailable

logger = logging.getLogger(__name__)


class Round(Protocol):
    async def run_once(self) -> bool:
        """Do one round of work; True if more may be waiting at once."""


class EffectWorker:
    def __init__(
        self, relay: Round, *, poll_seconds: float, name: str = "alertd-effect-worker"
    ) -> None:
        self._relay = relay
        self._poll = poll_seconds
        self._name = name
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._unavailable: str | None = None  # the dependency that is down, once logged
        self._stopping = False

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self._name)

    async def stop(self, *, grace_seconds: float = 5.0) -> None:
        """Let the round under way finish (so a batch that was sent is also settled), for
        at most `grace_seconds`, then cancel."""
        if self._task is None:
            return
        self._stopping = True
        self._wake.set()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace_seconds):
                await asyncio.shield(self._task)
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while not self._stopping:
            try:
                while await self._relay.run_once() and not self._stopping:
                    pass
                if self._unavailable is not None:
                    logger.warning("%s: %s answers again", self._name, self._unavailable)
                    self._unavailable = None
            except Unavailable as error:  # the work waits where it is (outbox, log)
                if self._unavailable != error.dependency:
                    logger.warning("%s: %s unavailable; retrying", self._name, error.dependency)
                    self._unavailable = error.dependency
            except Exception:  # keep the loop alive; the outbox keeps the work
                logger.exception("%s: round failed; retrying", self._name)
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow the cancel
            # that stop() sends if it lands in the same tick as a wake-up (gh-86296).
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll):
                    await self._wake.wait()
            self._wake.clear()
