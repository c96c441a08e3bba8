"""`alertd.app.camera_ports.VideoRelay` with aiortc: WHEP sessions on shared feeds.

Each viewer is one `RTCPeerConnection` whose video sender reads the camera's `Feed`
through aiortc's `MediaRelay`, so the source is opened (and decoded, if it must be) once
for all viewers. A feed opens on its first viewer and closes `linger_seconds` after its
last one leaves. A session ends on DELETE, when its connection fails or closes, or at
shutdown.

The offer is checked before anything is opened: a malformed offer, or one that receives
no video, raises BadOffer and leaves no peer connection and no source behind.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from aiortc import (
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.contrib.media import MediaRelay
from aiortc.sdp import candidate_from_sdp

from alertd.adapters.video.feed import Feed, FeedTimings, HealthCallback
from alertd.app.camera_ports import BadOffer, HealthListener, SourceHealth, ViewSession
from alertd.core.camera import CameraSource

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class IceServer:
    urls: str
    username: str | None = None
    credential: str | None = None


@dataclass
class _Session:
    view: ViewSession
    pc: RTCPeerConnection


class AiortcRelay:
    """Implements `VideoRelay`."""

    def __init__(
        self,
        *,
        ice_servers: Sequence[IceServer] = (),
        timings: FeedTimings | None = None,
        passthrough: bool = True,
    ) -> None:
        self._ice = [RTCIceServer(s.urls, s.username, s.credential) for s in ice_servers]
        self._timings = timings or FeedTimings()
        self._passthrough = passthrough
        self._relay = MediaRelay()
        self._feeds: dict[str, Feed] = {}
        self._sessions: dict[str, _Session] = {}
        self._listener: HealthListener | None = None
        self._lock = asyncio.Lock()

    def listen(self, listener: HealthListener) -> None:
        self._listener = listener

    def viewers(self, camera_id: str) -> int:
        feed = self._feeds.get(camera_id)
        return len(feed.viewers) if feed else 0

    def online(self, camera_id: str) -> bool | None:
        feed = self._feeds.get(camera_id)
        return feed.online if feed else None

    def source_opens(self, camera_id: str) -> int:
        """How many times the camera's open feed opened its source (tests, benchmark)."""
        feed = self._feeds.get(camera_id)
        return feed.opens if feed else 0

    def session(self, session_id: str) -> ViewSession | None:
        found = self._sessions.get(session_id)
        return found.view if found else None

    async def open_session(self, source: CameraSource, *, offer_sdp: str) -> ViewSession:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=self._ice))
        session_id = secrets.token_urlsafe(24)
        feed: Feed | None = None
        try:
            try:
                await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
            except Exception as error:  # aiortc raises many kinds on a malformed offer
                raise BadOffer(
                    type(error).__name__ + (f": {error}" if str(error) else "")
                ) from None
            video = [t for t in pc.getTransceivers() if t.kind == "video"]
            # The viewer must want to receive video (aiortc keeps the direction reversed).
            offered = getattr(video[0], "_offerDirection", None) if video else None
            if offered not in ("sendonly", "sendrecv"):  # seen from alertd's side
                raise BadOffer("the offer does not receive video")
            transceiver = video[0]
            feed = await self._join(source, session_id)
            passthrough = await feed.first_open()
            if passthrough is None:
                passthrough = bool(feed.passthrough)
            if passthrough:
                _only_h264(transceiver)
            pc.addTrack(feed.subscribe())
            try:
                answer = await pc.createAnswer()
            except Exception as error:  # no codec in common, for one
                raise BadOffer(f"cannot answer: {error}") from None
            await pc.setLocalDescription(answer)
        except BaseException:
            await pc.close()
            if feed is not None:
                await self._leave(source.camera_id, session_id)
            raise
        view = ViewSession(session_id, source.camera_id, pc.localDescription.sdp, passthrough)
        self._sessions[session_id] = _Session(view, pc)

        @pc.on("connectionstatechange")
        async def _gone() -> None:
            if pc.connectionState in ("failed", "closed"):
                await self.close_session(session_id)

        return view

    async def close_session(self, session_id: str) -> ViewSession | None:
        found = self._sessions.pop(session_id, None)
        if found is None:
            return None
        await found.pc.close()
        await self._leave(found.view.camera_id, session_id)
        return found.view

    async def add_candidate(self, session_id: str, candidate: str, *, mid: str | None) -> None:
        found = self._sessions.get(session_id)
        if found is None:
            return
        try:
            parsed = candidate_from_sdp(candidate.removeprefix("candidate:"))
        except (ValueError, IndexError):
            raise BadOffer("a candidate line is malformed") from None
        parsed.sdpMid = mid
        parsed.sdpMLineIndex = 0 if mid is None else None
        await found.pc.addIceCandidate(parsed)

    async def close(self) -> None:
        for session_id in list(self._sessions):
            await self.close_session(session_id)
        for feed in list(self._feeds.values()):
            await feed.close()
        self._feeds.clear()

    async def _join(self, source: CameraSource, session_id: str) -> Feed:
        async with self._lock:
            feed = self._feeds.get(source.camera_id)
            if feed is None or feed.source != source:
                if feed is not None and not feed.viewers:
                    await self._close_feed(feed)
                feed = Feed(
                    source,
                    relay=self._relay,
                    timings=self._timings,
                    on_health=self._health_of(source),
                    passthrough=self._passthrough,
                )
                self._feeds[source.camera_id] = feed
                feed.start()
            if feed.closing is not None:
                feed.closing.cancel()
                feed.closing = None
            feed.viewers.add(session_id)
            return feed

    async def _leave(self, camera_id: str, session_id: str) -> None:
        feed = self._feeds.get(camera_id)
        if feed is None:
            return
        feed.viewers.discard(session_id)
        if feed.viewers or feed.closing is not None:
            return
        loop = asyncio.get_running_loop()

        def close_later() -> None:
            feed.closing = None
            if not feed.viewers:
                task = loop.create_task(self._close_feed(feed))
                task.add_done_callback(_log_failure)

        feed.closing = loop.call_later(self._timings.linger_seconds, close_later)

    async def _close_feed(self, feed: Feed) -> None:
        if self._feeds.get(feed.source.camera_id) is feed:
            del self._feeds[feed.source.camera_id]
        await feed.close()

    def _health_of(self, source: CameraSource) -> HealthCallback:
        async def report(online: bool, reason: str | None) -> None:
            if self._listener is not None:
                await self._listener(
                    SourceHealth(source.camera_id, source.school_id, online, reason)
                )

        return report


def _only_h264(transceiver: RTCRtpTransceiver) -> None:
    """Answer with H.264 only: the source's packets go out as they are.

    aiortc applies codec preferences when it reads an offer, and an answerer's transceiver
    only exists once it has: so the negotiated list is narrowed here, before the answer.
    Raises BadOffer when the viewer cannot receive H.264.
    """
    codecs = transceiver._codecs  # aiortc: the codecs common to the offer and aiortc
    h264 = {c.payloadType for c in codecs if c.mimeType.lower() == "video/h264"}
    if not h264:
        raise BadOffer("the viewer cannot receive H.264, which this camera sends")
    transceiver._codecs = [
        c
        for c in codecs
        if c.payloadType in h264
        or (c.mimeType.lower() == "video/rtx" and int(str(c.parameters.get("apt", -1))) in h264)
    ]


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.warning("closing a camera feed failed", exc_info=task.exception())
