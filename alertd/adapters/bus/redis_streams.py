"""The scale-out event bus: a Redis stream shared by every instance (ALERTD_REDIS_URL).

Publishing (after a command commits) does two things and waits for neither:
- hands the events to this instance's own subscribers at once, through the `Sequencer`, so
  that local consoles never depend on Redis;
- queues them for XADD to the stream (the fast path), done by a background task.

Each instance reads the stream (XREAD, blocking) and offers what it reads to its sequencer,
which drops what it has already delivered and fills gaps from the log. The log stays the
truth: the event relay (`alertd.app.log_relay`) copies to the stream whatever committed
event the fast path missed (an instance killed between commit and XADD, Redis down), so the
stream receives every event at least once, and consumers deduplicate by event id.

While Redis does not answer, every instance reads new events from the log once per poll
interval instead, so consoles on every instance still get every event, later; when Redis is
back the stream takes over again from the last event delivered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError, ResponseError

from alertd.adapters import codec
from alertd.adapters.bus.memory import MemoryBus, MemorySubscription
from alertd.adapters.bus.redis_keys import EVENT_FIELD, RedisKeys
from alertd.adapters.bus.sequencer import Sequencer
from alertd.app.ports import LoggedEvent, LogQuery, Store, Unavailable

logger = logging.getLogger(__name__)

READ_BLOCK_MS = 1000
READ_COUNT = 1000
PUBLISH_BATCH = 1000
OUTGOING_QUEUE = 10_000  # batches; past it the relay copies them from the log instead
LOG_PAGE = 500


def connect(url: str) -> Redis:
    """A client that fails fast: a Redis that does not answer is the relay's business."""
    return Redis.from_url(
        url,
        socket_connect_timeout=1.0,
        socket_timeout=READ_BLOCK_MS / 1000 + 4.0,
        retry=Retry(NoBackoff(), 0),
        health_check_interval=0,
    )


def _stream_id(event_id: int) -> str:
    return f"{event_id}-0"


def _event_id(stream_id: bytes) -> int:
    return int(stream_id.split(b"-", 1)[0])


class RedisStream:
    """The event stream as a `LogSink`: what the relay and the fast path write to."""

    def __init__(self, redis: Redis, keys: RedisKeys, *, maxlen: int) -> None:
        self._redis = redis
        self._key = keys.events
        self._maxlen = maxlen
        self.refused = 0  # events already there, or older than the newest entry

    async def top(self) -> int:
        try:
            newest: Any = await self._redis.xrevrange(self._key, count=1)
        except (RedisError, OSError) as error:
            raise Unavailable("redis") from error
        return _event_id(newest[0][0]) if newest else 0

    async def append(self, events: Sequence[LoggedEvent]) -> None:
        """XADD each event under its own id, trimming to about `maxlen` entries. Redis refuses
        an id not above the newest entry: that event is there already, or a later one is,
        and readers fill such a gap from the log."""
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for logged in events:
                    body = orjson.dumps(codec.event_body(logged.event))
                    pipe.xadd(
                        self._key,
                        {EVENT_FIELD: body},
                        id=_stream_id(logged.id),
                        maxlen=self._maxlen,
                        approximate=True,
                    )
                results = await pipe.execute(raise_on_error=False)
        except (RedisError, OSError) as error:
            raise Unavailable("redis") from error
        for result in results:
            if isinstance(result, ResponseError):
                self.refused += 1
            elif isinstance(result, Exception):
                raise Unavailable("redis") from result

    async def read(self, after: int) -> list[LoggedEvent]:
        """The next events after id `after`, waiting up to READ_BLOCK_MS for some."""
        return [decode(event_id, raw) for event_id, raw in await self.read_raw(after)]

    async def read_raw(self, after: int) -> list[tuple[int, bytes]]:
        """(event id, JSON) of the next events after id `after`, not decoded yet: a reader
        that already has some (its own, published locally) need not decode them."""
        try:
            answer: Any = await self._redis.xread(
                {self._key: _stream_id(after)}, block=READ_BLOCK_MS, count=READ_COUNT
            )
        except (RedisError, OSError) as error:
            raise Unavailable("redis") from error
        return [
            (_event_id(stream_id), fields[EVENT_FIELD])
            for _key, entries in answer or []
            for stream_id, fields in entries
        ]


def decode(event_id: int, raw: bytes) -> LoggedEvent:
    return codec.logged_from_body(event_id, orjson.loads(raw))


class RedisBus:
    """Implements `alertd.app.ports.EventBus` across instances. Call `start` before use and
    `stop` at shutdown; `ping` for readiness."""

    def __init__(
        self, *, url: str, keys: RedisKeys, maxlen: int, store: Store, poll_seconds: float
    ) -> None:
        self._redis = connect(url)
        self._reader_redis = connect(url)  # XREAD blocks its connection
        self._store = store
        self._poll = poll_seconds
        self.stream = RedisStream(self._redis, keys, maxlen=maxlen)
        self._incoming = RedisStream(self._reader_redis, keys, maxlen=maxlen)
        self._local = MemoryBus()
        self._sequencer = Sequencer(self._local.fan_out, store)
        self._outgoing: asyncio.Queue[Sequence[LoggedEvent]] = asyncio.Queue(OUTGOING_QUEUE)
        self._tasks: list[asyncio.Task[None]] = []
        self.redis_up = True

    async def publish(self, events: Sequence[LoggedEvent]) -> None:
        if not events:
            return
        self._sequencer.offer(events)
        with contextlib.suppress(asyncio.QueueFull):  # the relay copies them from the log
            self._outgoing.put_nowait(events)

    def subscribe(self, *, max_queue: int) -> MemorySubscription:
        return self._local.subscribe(max_queue=max_queue)

    async def start(self) -> None:
        """Deliver live from the head of the log on; start the reader, writer and gap filler."""
        self._sequencer.start_at(await self._store.last_event_id())
        for name, work in (
            ("alertd-redis-writer", self._write),
            ("alertd-redis-reader", self._read),
            ("alertd-gap-filler", self._sequencer.fill_gaps),
        ):
            self._tasks.append(asyncio.create_task(_supervised(name, work), name=name))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._redis.aclose()
        await self._reader_redis.aclose()

    async def ping(self) -> None:
        """Raise Unavailable if Redis does not answer."""
        try:
            async with asyncio.timeout(2.0):
                await self._redis.ping()
        except (RedisError, OSError) as error:
            raise Unavailable("redis") from error

    async def _write(self) -> None:
        while True:
            batch = list(await self._outgoing.get())
            while not self._outgoing.empty() and len(batch) < PUBLISH_BATCH:
                batch.extend(self._outgoing.get_nowait())
            try:
                await self.stream.append(batch)
            except Unavailable:
                pass  # the reader notices and says so; the relay sends these later

    async def _read(self) -> None:
        # Read on from the last entry read, not from the last event delivered: while the
        # sequencer waits for a gap, reading from its position would fetch and decode the
        # same entries again and again without blocking (it burnt half an instance's CPU in
        # a burst). The stream never fills a gap later (Redis refuses an id below its newest
        # entry); the sequencer fills it from the log.
        read_through = 0
        while True:
            position = self._sequencer.position
            assert position is not None
            try:
                entries = await self._incoming.read_raw(max(position, read_through))
            except Unavailable:
                if self.redis_up:
                    logger.warning("redis unavailable: reading new events from the database")
                    self.redis_up = False
                await self._catch_up_from_log()
                await asyncio.sleep(self._poll)
                continue
            if not self.redis_up:
                logger.warning("redis answers again: reading events from the stream")
                self.redis_up = True
            if entries:
                read_through = entries[-1][0]
            delivered = self._sequencer.position or 0
            self._sequencer.offer([decode(i, raw) for i, raw in entries if i > delivered])

    async def _catch_up_from_log(self) -> None:
        with contextlib.suppress(Unavailable):
            while True:
                position = self._sequencer.position
                assert position is not None
                page = await self._store.read_log(LogQuery(after=position, limit=LOG_PAGE))
                self._sequencer.offer(page)
                if len(page) < LOG_PAGE:
                    return


async def _supervised(name: str, work: Callable[[], Awaitable[None]]) -> None:
    """Run `work()` forever: a crash is logged with its traceback and the loop restarts."""
    while True:
        try:
            await work()
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("%s failed; restarting", name)
            await asyncio.sleep(1.0)
