"""A supervised background loop that runs one job every few seconds (audit checkpoints).

Like `alertd.adapters.worker.EffectWorker`: a failed round is logged with its traceback and
the loop goes on at the next period; it never dies silently. The first round runs at start.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

logger = logging.getLogger(__name__)


class PeriodicTask:
    def __init__(self, name: str, job: Callable[[], Awaitable[object]], *, every: float) -> None:
        self._name = name
        self._job = job
        self._every = every
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._every > 0:
            self._task = asyncio.create_task(self._run(), name=f"alertd-{self._name}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            try:
                await self._job()
            except Exception:  # keep the loop alive; the next round tries again
                logger.exception("%s round failed; retrying in %s s", self._name, self._every)
            await asyncio.sleep(self._every)
