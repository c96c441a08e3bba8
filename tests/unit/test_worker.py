"""The effect worker's loop: it wakes on demand and always stops when asked."""

from __future__ import annotations

import asyncio

from alertd.adapters.worker import EffectWorker
from alertd.app.relay import OutboxRelay


class IdleRelay(OutboxRelay):
    def __init__(self) -> None:
        self.rounds = 0

    async def run_once(self) -> bool:
        self.rounds += 1
        return False


async def test_the_worker_runs_a_round_when_woken() -> None:
    relay = IdleRelay()
    worker = EffectWorker(relay, poll_seconds=60)
    worker.start()
    await asyncio.sleep(0.01)
    worker.wake()
    await asyncio.sleep(0.01)
    await worker.stop()
    assert relay.rounds == 2


async def test_the_worker_stops_when_shut_down_right_after_a_wake_up() -> None:
    # On Python 3.11, asyncio.wait_for could swallow this cancel and hang shutdown.
    worker = EffectWorker(IdleRelay(), poll_seconds=60)
    worker.start()
    await asyncio.sleep(0.01)
    worker.wake()
    async with asyncio.timeout(2):
        await worker.stop()
