"""The SQLite writer's lock: waiters take turns by lane, first come first served within one."""

from __future__ import annotations

import asyncio

from alertd.adapters.db.fair_lock import FairLock


async def _taker(lock: FairLock, lane: str, name: str, order: list[str]) -> None:
    async with lock.hold(lane):
        order.append(name)
        await asyncio.sleep(0)


async def _queue(lock: FairLock, takers: list[tuple[str, str]], order: list[str]) -> None:
    """Start `takers` (lane, name) in this order while the lock is held, then let them run."""
    await lock.acquire("holder")
    tasks = []
    for lane, name in takers:
        tasks.append(asyncio.create_task(_taker(lock, lane, name, order)))
        await asyncio.sleep(0)  # each is queued before the next
    lock.release()
    await asyncio.gather(*tasks)


async def test_a_distinct_lane_waits_for_one_turn_of_the_flood_not_all_of_it() -> None:
    lock, order = FairLock(), []
    flood = [("lincoln lockdown", f"press-{i}") for i in range(6)]
    await _queue(lock, [*flood, ("jefferson medical", "medical")], order)
    assert order == ["press-0", "medical", "press-1", "press-2", "press-3", "press-4", "press-5"]
    assert not lock.locked


async def test_lanes_take_turns_round_robin_and_keep_their_own_order() -> None:
    lock, order = FairLock(), []
    takers = [("a", "a1"), ("a", "a2"), ("b", "b1"), ("a", "a3"), ("b", "b2"), ("c", "c1")]
    await _queue(lock, takers, order)
    assert order == ["a1", "b1", "c1", "a2", "b2", "a3"]


async def test_a_cancelled_waiter_is_skipped_and_the_lock_still_passes_on() -> None:
    lock, order = FairLock(), []
    await lock.acquire("holder")
    first = asyncio.create_task(_taker(lock, "a", "a1", order))
    doomed = asyncio.create_task(_taker(lock, "b", "b1", order))
    last = asyncio.create_task(_taker(lock, "c", "c1", order))
    await asyncio.sleep(0)
    doomed.cancel()
    await asyncio.sleep(0)
    lock.release()
    await asyncio.gather(first, last)
    assert doomed.cancelled()
    assert order == ["a1", "c1"]
    assert not lock.locked and lock.waiting() == 0


async def test_a_waiter_cancelled_as_it_is_handed_the_lock_passes_it_on() -> None:
    lock, order = FairLock(), []
    await lock.acquire("holder")
    handed = asyncio.create_task(lock.acquire("a"))
    after = asyncio.create_task(_taker(lock, "b", "b1", order))
    await asyncio.sleep(0)
    lock.release()  # hands it to `handed`, whose task has not run yet
    handed.cancel()
    await asyncio.gather(after)
    assert handed.cancelled()
    assert order == ["b1"]
    assert not lock.locked
