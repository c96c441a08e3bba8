"""A WHEP viewer for tests and the benchmark: a real aiortc client that counts frames.

`WhepViewer.start` POSTs an SDP offer with a view token, applies the answer, and counts
the video frames (or, with `decode=False`, the RTP packets' frames) that arrive. Always
`close` it (in `finally`): a viewer left open keeps the process alive.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

import httpx
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack


@dataclass
class WhepViewer:
    client: httpx.AsyncClient
    whep_url: str
    token: str
    frames: int = 0
    location: str | None = None
    answer_sdp: str = ""
    pc: RTCPeerConnection = field(
        default_factory=lambda: RTCPeerConnection(RTCConfiguration(iceServers=[]))
    )
    _reader: asyncio.Task[None] | None = None
    _got: asyncio.Event = field(default_factory=asyncio.Event)
    _want: int = 1

    async def start(self) -> httpx.Response:
        """Offer, and apply the answer when it is 201. Returns the WHEP answer as is."""
        self.pc.addTransceiver("video", direction="recvonly")

        @self.pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            self._reader = asyncio.ensure_future(self._read(track))

        await self.pc.setLocalDescription(await self.pc.createOffer())
        answer = await self.client.post(
            self.whep_url,
            content=self.pc.localDescription.sdp,
            headers={"Content-Type": "application/sdp", "Authorization": f"Bearer {self.token}"},
        )
        if answer.status_code == 201:
            self.location = answer.headers["location"]
            self.answer_sdp = answer.text
            await self.pc.setRemoteDescription(RTCSessionDescription(answer.text, "answer"))
        return answer

    async def _read(self, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                await track.recv()
                self.frames += 1
                if self.frames >= self._want:
                    self._got.set()

    async def wait_frames(self, count: int, *, timeout: float) -> int:
        """Wait until `count` frames in all arrived (TimeoutError otherwise)."""
        self._want = count
        if self.frames >= count:
            return self.frames
        self._got.clear()
        await asyncio.wait_for(self._got.wait(), timeout)
        return self.frames

    async def close(self, *, delete: bool = True) -> None:
        try:
            if delete and self.location is not None:
                await self.client.delete(self.location)
        finally:
            if self._reader is not None:
                self._reader.cancel()
            await self.pc.close()
