"""WebSocket /v1/stream: replay after `since`, then live events, with heartbeats.

Close codes (documented in schemas/asyncapi.json):
    4001  slow consumer: the client fell more than its queue behind, or one message took
          longer than the send timeout to go out; reconnect with since=<last id received>.
          (Also sent, with its own reason, when a gap in the live events could not be
          filled from the log: resuming replays from the log.)
          (A client whose socket is completely stalled may see the connection dropped
          without a close frame; it resumes the same way.)
    4400  bad request: an invalid query parameter (the reason names it)
    4401  unauthenticated: no valid access_token (or session cookie); sign in and reconnect
    1013  try again later: the database does not answer; reconnect with since=<last id>
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Annotated, NamedTuple

import orjson
from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect

from alertd.adapters import codec
from alertd.adapters.http.deps import HttpContext, current_principal
from alertd.adapters.wire.contract import STREAM_ADDRESS
from alertd.adapters.wire.v1 import StreamClose
from alertd.adapters.ws.frames import RAW_SEND, DirectFrames, text_frame
from alertd.app.ports import LoggedEvent, SlowConsumer, Unavailable
from alertd.app.stream import MissingEvents, SinceAhead, StreamFilter, StreamSession
from alertd.core.errors import Unauthenticated

logger = logging.getLogger(__name__)
router = APIRouter()

CLOSE_SLOW_CONSUMER = StreamClose.SLOW_CONSUMER
CLOSE_BAD_REQUEST = StreamClose.BAD_REQUEST
CLOSE_UNAUTHENTICATED = StreamClose.UNAUTHENTICATED
CLOSE_TRY_AGAIN_LATER = StreamClose.TRY_AGAIN_LATER


class Message(NamedTuple):
    text: str
    frame: bytes  # the same, as one WebSocket frame (`frames.text_frame`)

    @classmethod
    def of(cls, value: dict[str, object]) -> Message:
        payload = orjson.dumps(value)
        return cls(payload.decode(), text_frame(payload))


class EncodedEvents:
    """Each event is encoded once per app, however many clients receive it."""

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._items: OrderedDict[int, Message] = OrderedDict()

    def encode(self, logged: LoggedEvent) -> Message:
        message = self._items.get(logged.id)
        if message is None:
            message = Message.of(codec.logged_to_dict(logged))
            self._items[logged.id] = message
            if len(self._items) > self._size:
                self._items.popitem(last=False)
        return message


@router.websocket(STREAM_ADDRESS)
async def stream(
    websocket: WebSocket,
    since: Annotated[str | None, Query()] = None,
    school: Annotated[list[str] | None, Query()] = None,
) -> None:
    ctx: HttpContext = websocket.app.state.context
    encoded: EncodedEvents = websocket.app.state.encoded_events
    await websocket.accept()
    try:
        # Authenticated here rather than as a dependency, so that a refusal is a close code
        # the client can act on instead of a bare 403 at the handshake.
        principal = await current_principal(websocket)
    except Unauthenticated:
        await websocket.close(CLOSE_UNAUTHENTICATED, "unauthenticated: sign in and reconnect")
        return
    # Checked here, not by FastAPI, which would refuse the handshake with a bare 403.
    if since is not None and not (since.isascii() and since.isdigit()):
        await websocket.close(CLOSE_BAD_REQUEST, "since: must be an integer, 0 or more")
        return
    session = StreamSession(
        store=ctx.store,
        bus=ctx.bus,
        since=int(since) if since is not None else None,
        stream_filter=StreamFilter(principal, frozenset(school) if school else None),
        max_queue=ctx.stream_queue,
    )
    ctx.metrics.stream_clients.inc()
    sender = asyncio.create_task(_send_all(websocket, session, ctx, encoded))
    receiver = asyncio.create_task(_drain_client(websocket))
    try:
        done, _pending = await asyncio.wait({sender, receiver}, return_when=asyncio.FIRST_COMPLETED)
        if sender in done and sender.exception() is not None:
            raise sender.exception()  # type: ignore[misc]
    except (SlowConsumer, TimeoutError):
        # Its queue overflowed, or one message took longer than the send timeout.
        ctx.metrics.slow_consumers.inc()
        await _close(
            websocket, CLOSE_SLOW_CONSUMER, f"slow consumer; resume with since={session.last_id}"
        )
    except MissingEvents as error:
        logger.error("stream gap not filled from the log: %s", error)
        await _close(
            websocket, CLOSE_SLOW_CONSUMER, f"missing events; resume with since={session.last_id}"
        )
    except Unavailable as error:
        await _close(websocket, CLOSE_TRY_AGAIN_LATER, f"{error.dependency} unavailable; retry")
    except SinceAhead as error:
        reason = f"since: past the last event id {error.head}; reconnect with since=0"
        await _close(websocket, CLOSE_BAD_REQUEST, reason)
    except (WebSocketDisconnect, ConnectionError):
        pass
    finally:
        for task in (sender, receiver):
            task.cancel()
        await asyncio.gather(sender, receiver, return_exceptions=True)
        session.close()
        ctx.metrics.stream_clients.dec()


class SendWatch:
    """Notices a message that takes longer than `timeout` seconds to go out, and calls
    `on_stall`. One timer per client, re-armed when it fires, instead of one per message:
    a send only notes when it started and when it ended."""

    def __init__(self, timeout: float, on_stall: Callable[[], object]) -> None:
        self._timeout = timeout
        self._on_stall = on_stall
        self._loop = asyncio.get_running_loop()
        self.sending_since: float | None = None
        self.stalled = False
        self._timer = self._loop.call_later(timeout, self._check)

    def _check(self) -> None:
        since, now = self.sending_since, self._loop.time()
        if since is not None and now - since >= self._timeout:
            self.stalled = True
            self._on_stall()
            return
        due = self._timeout if since is None else since + self._timeout - now
        self._timer = self._loop.call_later(due, self._check)

    async def send(self, sending: Awaitable[None]) -> None:
        self.sending_since = self._loop.time()
        await sending
        self.sending_since = None

    def close(self) -> None:
        self._timer.cancel()


async def _send_all(
    websocket: WebSocket, session: StreamSession, ctx: HttpContext, encoded: EncodedEvents
) -> None:
    watch = SendWatch(ctx.stream_send_timeout_seconds, on_stall=_current_task().cancel)
    try:
        await _send_events(websocket, session, ctx, encoded, watch)
    except asyncio.CancelledError:
        if watch.stalled:  # one message took longer than the send timeout
            raise TimeoutError("stream send timed out") from None
        raise
    finally:
        watch.close()


def _current_task() -> asyncio.Task[object]:
    task = asyncio.current_task()
    assert task is not None
    return task


async def _send_events(
    websocket: WebSocket,
    session: StreamSession,
    ctx: HttpContext,
    encoded: EncodedEvents,
    watch: SendWatch,
) -> None:
    direct = DirectFrames.of(websocket.scope.get(RAW_SEND))
    ctx.metrics.stream_sessions.labels("asgi" if direct is None else "direct").inc()
    # Looked up once: a label lookup per batch was 3 % of the CPU of an alert to 50 consoles.
    replayed = ctx.metrics.events_streamed.labels("replay")
    streamed_live = ctx.metrics.events_streamed.labels("live")
    published = ctx.metrics.events_streamed.labels("published")

    async def send(message: Message) -> None:
        if direct is not None:
            await watch.send(direct.write(message.frame))
        else:
            await watch.send(websocket.send_text(message.text))

    page = await session.start()
    if session.since is not None:
        ctx.metrics.replay_lag.observe(max(0, await ctx.store.last_event_id() - session.since))
    while page:
        for logged in page:
            await send(encoded.encode(logged))
        replayed.inc(len(page))
        page = await session.replay_page()
    caught_up = {"id": session.last_id, "type": "caught_up", "replayed": session.replayed}
    await send(Message.of(caught_up))
    if direct is not None:
        session.send_live_directly(
            lambda logged: _write_now(direct, encoded.encode(logged), published.inc)
        )
    while True:
        batch = await session.next_live(ctx.stream_heartbeat_seconds)
        if batch is None:
            beat = {"id": session.last_id, "type": "heartbeat", "at": codec.iso(ctx.clock.now())}
            await send(Message.of(beat))
            continue
        for logged in batch:
            await send(encoded.encode(logged))
        streamed_live.inc(len(batch))


def _write_now(direct: DirectFrames, message: Message, count: Callable[[], object]) -> bool:
    """A live event written by its publisher while the session waits (in `next_live`, so
    never in the middle of a send of its own): no task wakes."""
    if not direct.write_now(message.frame):
        return False
    count()
    return True


async def _drain_client(websocket: WebSocket) -> None:
    """Read (and ignore) what the client sends, so a disconnect is noticed at once."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    try:
        async with asyncio.timeout(2.0):
            await websocket.close(code, reason)
    except Exception:  # the client is gone or stalled; nothing is left to tell it
        logger.debug("close of a stream client failed", exc_info=True)
