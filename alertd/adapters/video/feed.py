"""One camera's feed: its source opened once, shared by every viewer, kept alive.

`Feed.track` is a stable track that the relay's `MediaRelay` reads once for all viewers.
Behind it the feed's supervisor task opens the source, watches that frames keep coming,
and on a failure, an end or a stall closes it, reports the camera offline, and reopens it
with backoff (`core.camera.retry_delay`), for as long as anyone watches. Viewers keep their
sessions through an outage: their video resumes when the source does.

A file source that reaches its end is reopened at once (a looping recording), not reported.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from fractions import Fraction
from typing import Any

import av
from aiortc import MediaStreamTrack
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError

from alertd.adapters.video.source import OpenedSource, SourceUnavailable, open_source
from alertd.core.camera import CameraSource, SourceKind, retry_delay

logger = logging.getLogger(__name__)

Media = Any  # an av.VideoFrame (decoded) or an av.Packet (H.264 passed through)
HealthCallback = Callable[[bool, str | None], Awaitable[None]]


@dataclass(frozen=True)
class FeedTimings:
    open_timeout: float = 8.0  # FFmpeg's connect/read timeout
    stall_seconds: float = 5.0  # no frame for this long while open: the source stalled
    retry_first: float = 1.0
    retry_cap: float = 30.0
    linger_seconds: float = 5.0  # keep the source open this long after the last viewer


class FeedTrack(MediaStreamTrack):
    """The feed's one track: frames from whichever source is open now, in one timeline."""

    kind = "video"

    def __init__(self, feed: Feed) -> None:
        super().__init__()
        self._feed = feed
        self._offset = 0  # added to the current source's timestamps
        self._last_pts: int | None = None
        self._rebase = True

    def rebase(self) -> None:
        """A new source opened: continue its timestamps after the last one sent."""
        self._rebase = True

    async def recv(self) -> Media:
        while True:
            if self.readyState != "live":
                raise MediaStreamError
            opened = await self._feed.current()
            try:
                frame = await opened.track.recv()
            except MediaStreamError:
                self._feed.source_ended(opened)
                continue
            self._feed.frame_arrived()
            return self._retime(frame)

    def _retime(self, frame: Media) -> Media:
        if isinstance(frame, av.VideoFrame) and frame.format.name != "yuv420p":
            frame = frame.reformat(format="yuv420p")  # once, before viewers share it
        if frame.pts is None or frame.time_base is None:
            return frame
        if self._rebase:
            step = int(1 / (Fraction(15) * frame.time_base)) or 1
            base = -frame.pts if self._last_pts is None else self._last_pts + step - frame.pts
            self._offset, self._rebase = base, False
        frame.pts = frame.pts + self._offset
        self._last_pts = frame.pts
        return frame


class Feed:
    """One camera's source and viewers. Create it on the first viewer; `start` it;
    `close` it after the last viewer left (the relay lingers first)."""

    def __init__(
        self,
        source: CameraSource,
        *,
        relay: MediaRelay,
        timings: FeedTimings,
        on_health: HealthCallback,
        passthrough: bool = True,
    ) -> None:
        self.source = source
        self.viewers: set[str] = set()
        self.opens = 0  # how many times the source was opened (the relay's promise: once)
        self.passthrough: bool | None = None  # known once the source first opened
        self._relay = relay
        self._timings = timings
        self._on_health = on_health
        self._want_passthrough = passthrough
        self.track = FeedTrack(self)
        self._opened: OpenedSource | None = None
        self._ready = asyncio.Event()
        self._trouble = asyncio.Event()
        self._trouble_reason: str | None = None
        self._first_open = asyncio.get_running_loop().create_future()
        self._last_frame = 0.0
        self._online: bool | None = None
        self._task: asyncio.Task[None] | None = None
        self.closing: asyncio.TimerHandle | None = None

    @property
    def online(self) -> bool | None:
        return self._online

    def start(self) -> None:
        self._task = asyncio.create_task(self._supervise(), name=f"camera-{self.source.camera_id}")

    async def first_open(self) -> bool | None:
        """Wait for the first attempt to open the source: its passthrough, or None if it
        failed (viewers still join; video starts when the source comes back)."""
        return await asyncio.shield(self._first_open)

    def subscribe(self) -> MediaStreamTrack:
        return self._relay.subscribe(self.track, buffered=False)

    async def current(self) -> OpenedSource:
        while self._opened is None:
            self._ready.clear()
            await self._ready.wait()
        return self._opened

    def frame_arrived(self) -> None:
        self._last_frame = asyncio.get_running_loop().time()

    def source_ended(self, opened: OpenedSource) -> None:
        if opened is self._opened:
            self._opened = None
            self._trouble_reason = "the source ended"
            self._trouble.set()

    async def close(self) -> None:
        self.track.stop()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._drop_source()
        if not self._first_open.done():
            self._first_open.set_result(None)

    async def _supervise(self) -> None:
        failures = 0
        while True:
            try:
                opened = await open_source(
                    self.source,
                    timeout_seconds=self._timings.open_timeout,
                    passthrough=self._want_passthrough,
                )
            except SourceUnavailable as error:
                failures += 1
                await self._report(online=False, reason=str(error))
                if not self._first_open.done():
                    self._first_open.set_result(None)
                await asyncio.sleep(self._delay(failures))
                continue
            self.opens += 1
            self.passthrough = opened.passthrough
            self._opened, self._trouble_reason = opened, None
            self._trouble.clear()
            self.track.rebase()
            self._last_frame = asyncio.get_running_loop().time()
            self._ready.set()
            if not self._first_open.done():
                self._first_open.set_result(opened.passthrough)
            reason = await self._watch()
            await self._drop_source()
            if reason == "the source ended" and self.source.kind is SourceKind.FILE:
                failures = 0
                continue  # a recording loops
            failures += 1
            await self._report(online=False, reason=reason)
            await asyncio.sleep(self._delay(failures))

    async def _watch(self) -> str:
        """Until the source fails: report it online once frames flow, then watch for a
        stall. Returns why it stopped."""
        loop = asyncio.get_running_loop()
        reported = False
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._trouble.wait(), timeout=0.5)
            if self._trouble.is_set():
                return self._trouble_reason or "the source failed"
            since = loop.time() - self._last_frame
            if since > self._timings.stall_seconds:
                return f"no video for {since:.0f} s"
            if not reported and since < 1.0 and self._online is not True:
                reported = True
                await self._report(online=True, reason=None)

    async def _drop_source(self) -> None:
        opened, self._opened = self._opened, None
        if opened is not None:
            try:
                await opened.close()
            except Exception:  # closing a broken player: nothing more to do
                logger.warning("closing camera %s failed", self.source.camera_id, exc_info=True)

    def _delay(self, failures: int) -> float:
        delay = retry_delay(
            failures,
            first=timedelta(seconds=self._timings.retry_first),
            cap=timedelta(seconds=self._timings.retry_cap),
        )
        return delay.total_seconds()

    async def _report(self, *, online: bool, reason: str | None) -> None:
        if self._online is online:
            return
        first = self._online is None
        self._online = online
        if first and online:
            return  # opened fine: nothing to tell
        logger.info(
            "camera %s %s (%s)", self.source.camera_id, "online" if online else "offline", reason
        )
        try:
            await self._on_health(online, reason)
        except Exception:  # a notice that could not be written must not stop the feed
            logger.warning(
                "could not record camera %s's health", self.source.camera_id, exc_info=True
            )
