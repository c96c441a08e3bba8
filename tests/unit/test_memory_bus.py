"""The in-process bus's direct sink: an event that finds its consumer waiting with nothing
queued goes to the sink and wakes no one; anything else takes the queue, in order."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from alertd.adapters.bus.memory import MemoryBus, MemorySubscription
from alertd.app.ports import LoggedEvent


def logged(event_id: int) -> LoggedEvent:
    # The bus never looks inside the event.
    return LoggedEvent(event_id, cast(Any, None))


async def parked(subscription: MemorySubscription) -> asyncio.Task[LoggedEvent | None]:
    """The consumer, waiting in `get`."""
    task = asyncio.create_task(subscription.get(timeout=60))
    await asyncio.sleep(0)
    return task


async def test_a_waiting_consumer_is_not_woken_for_what_the_sink_takes() -> None:
    bus = MemoryBus()
    subscription = bus.subscribe(max_queue=10)
    taken: list[int] = []
    subscription.take_directly(lambda e: taken.append(e.id) is None)
    consumer = await parked(subscription)
    bus.fan_out([logged(1), logged(2)])
    await asyncio.sleep(0.01)
    assert taken == [1, 2] and not consumer.done()
    consumer.cancel()


async def test_what_the_sink_refuses_is_queued_and_so_is_everything_after_it() -> None:
    bus = MemoryBus()
    subscription = bus.subscribe(max_queue=10)
    offered: list[int] = []

    def sink(event: LoggedEvent) -> bool:
        offered.append(event.id)
        return event.id != 2

    subscription.take_directly(sink)
    consumer = await parked(subscription)
    bus.fan_out([logged(1), logged(2), logged(3)])
    first = await consumer
    assert offered == [1, 2]  # 3 came while the woken consumer had not run yet
    assert first is not None and first.id == 2
    assert [e.id for e in subscription.ready()] == [3]


async def test_a_consumer_that_is_not_waiting_gets_everything_queued() -> None:
    bus = MemoryBus()
    subscription = bus.subscribe(max_queue=10)
    offered: list[int] = []
    subscription.take_directly(lambda e: offered.append(e.id) is None)
    bus.fan_out([logged(1)])
    assert offered == []
    assert [e.id for e in subscription.ready()] == [1]
    consumer = await parked(subscription)
    bus.fan_out([logged(2)])
    assert offered == [2] and not consumer.done()
    consumer.cancel()


async def test_a_sink_that_fails_hands_the_event_to_its_consumer_and_spares_the_others() -> None:
    bus = MemoryBus()
    failing, healthy = bus.subscribe(max_queue=10), bus.subscribe(max_queue=10)
    taken: list[int] = []

    def broken(event: LoggedEvent) -> bool:
        raise ValueError("cannot encode")

    failing.take_directly(broken)
    healthy.take_directly(lambda e: taken.append(e.id) is None)
    consumers = [await parked(failing), await parked(healthy)]
    bus.fan_out([logged(1)])
    first = await consumers[0]
    assert first is not None and first.id == 1 and taken == [1]
    consumers[1].cancel()
