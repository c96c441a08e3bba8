"""Opening a camera's source as an aiortc track.

- `test-pattern:` is generated here (moving colour bars, 640x480 at 15 fps by default).
- `rtsp://` and `file://` are opened with FFmpeg (PyAV) without decoding: their H.264 is
  passed through to every viewer (`decode=False`), so the server never re-encodes it.
  A stream that is not H.264 is decoded once and encoded per viewer instead.
- `http(s)://` (MJPEG) is decoded once, and encoded per viewer.

Every decoded frame leaves here as yuv420p: the encoders of several viewers share each
frame, and reformatting a shared frame in several encoder threads crashes (aiortc #767).

Opening can block (an RTSP handshake), so it runs in a thread, with FFmpeg's own timeout.
Credentials go into the URL handed to FFmpeg only; that URL is never logged.
"""

from __future__ import annotations

import asyncio
import fractions
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit, urlunsplit

import av
from aiortc import MediaStreamTrack
from aiortc.contrib.media import MediaPlayer
from aiortc.mediastreams import MediaStreamError

from alertd.core.camera import CameraSource, SourceKind

VIDEO_CLOCK = 90_000
VIDEO_TIME_BASE = fractions.Fraction(1, VIDEO_CLOCK)


class SourceUnavailable(Exception):
    """The source could not be opened (unreachable, refused, no video). Temporary."""


@dataclass
class OpenedSource:
    """A source's video track, and whether it yields H.264 packets to pass through."""

    track: MediaStreamTrack
    passthrough: bool

    async def close(self) -> None:
        # A player's stop joins its reader thread, which may sit in a read until FFmpeg's
        # timeout: never on the event loop.
        await asyncio.to_thread(self.track.stop)


async def open_source(
    source: CameraSource, *, timeout_seconds: float, passthrough: bool = True
) -> OpenedSource:
    """Open the camera's video. Raises SourceUnavailable (nothing is left open).

    `passthrough` False decodes even H.264 (the transcoding benchmark; otherwise True).
    """
    if source.kind is SourceKind.TEST_PATTERN:
        pattern = TestPatternTrack.from_url(source.url)
        if not passthrough:
            return OpenedSource(pattern, passthrough=False)
        # Encoded once here, like a camera's own H.264: viewers cost no encoding each.
        return OpenedSource(H264Track(pattern), passthrough=True)
    url, options, fmt = _ffmpeg_input(source, timeout_seconds)
    decode = source.kind is SourceKind.MJPEG or not passthrough
    try:
        player = await asyncio.wait_for(
            asyncio.to_thread(
                MediaPlayer,
                url,
                format=fmt,
                options=options,
                timeout=int(timeout_seconds) + 1,
                decode=decode,
            ),
            timeout=timeout_seconds + 2,
        )
    except (TimeoutError, OSError, av.FFmpegError, ValueError, AssertionError) as error:
        raise SourceUnavailable(_describe(error)) from None
    if player.video is None and not decode:
        # Not H.264 (or VP8): decode it once, then it is encoded per viewer.
        await asyncio.to_thread(_close_player, player)
        return await open_source(source, timeout_seconds=timeout_seconds, passthrough=False)
    if player.video is None:
        await asyncio.to_thread(_close_player, player)
        raise SourceUnavailable("the source has no video")
    return OpenedSource(player.video, passthrough=not decode)


def _close_player(player: MediaPlayer) -> None:
    for track in (player.audio, player.video):
        if track is not None:
            track.stop()


def _describe(error: BaseException) -> str:
    """What went wrong, without the URL (FFmpeg's messages may quote it, credentials too)."""
    if isinstance(error, TimeoutError):
        return "timed out"
    if isinstance(error, av.FFmpegError):
        return f"FFmpeg error {error.errno}: {error.strerror}"
    return type(error).__name__


def _ffmpeg_input(source: CameraSource, timeout: float) -> tuple[str, dict[str, str], str | None]:
    parts = urlsplit(source.url)
    if source.kind is SourceKind.FILE:
        return parts.path, {}, None
    netloc = parts.netloc
    if source.credentials is not None:
        user = quote(source.credentials.username, safe="")
        password = quote(source.credentials.password, safe="")
        netloc = f"{user}:{password}@{netloc}"
    url = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    micros = str(int(timeout * 1_000_000))
    if source.kind is SourceKind.RTSP:
        return url, {"rtsp_transport": "tcp", "timeout": micros}, "rtsp"
    return url, {"rw_timeout": micros}, "mpjpeg"


class H264Track(MediaStreamTrack):
    """Encodes a track's frames to H.264 once (Annex B, a key frame every second), so that
    the relay passes the packets through to every viewer like a camera's own stream."""

    kind = "video"

    def __init__(self, frames: MediaStreamTrack, *, fps: int = 15) -> None:
        super().__init__()
        self._frames = frames
        self._codec = av.CodecContext.create("libx264", "w")
        self._codec.width, self._codec.height = 0, 0
        self._codec.pix_fmt = "yuv420p"
        self._codec.framerate = fractions.Fraction(fps, 1)
        self._codec.time_base = VIDEO_TIME_BASE
        self._codec.gop_size = fps
        self._codec.options = {
            "preset": "ultrafast", "tune": "zerolatency", "profile": "baseline", "bf": "0",
        }
        self._codec.bit_rate = 800_000
        self._pending: list[Any] = []  # av.Packet

    async def recv(self) -> Any:  # an av.Packet
        while not self._pending:
            if self.readyState != "live":
                raise MediaStreamError
            frame = await self._frames.recv()
            assert isinstance(frame, av.VideoFrame)
            if not self._codec.width:
                self._codec.width, self._codec.height = frame.width, frame.height
            self._pending = await asyncio.to_thread(self._encode, frame)
        return self._pending.pop(0)

    def _encode(self, frame: av.VideoFrame) -> list[Any]:
        packets = list(self._codec.encode(frame))
        for packet in packets:
            packet.time_base = VIDEO_TIME_BASE
        return packets

    def stop(self) -> None:
        super().stop()
        self._frames.stop()


class TestPatternTrack(MediaStreamTrack):
    """Moving colour bars, yuv420p, paced in real time. `test-pattern:?fps=15&size=640x480`."""

    kind = "video"
    __test__ = False  # not a pytest test class

    def __init__(self, *, width: int = 640, height: int = 480, fps: int = 15) -> None:
        super().__init__()
        self._width, self._height, self._fps = width, height, fps
        self._frames = 0
        self._start: float | None = None
        self._luma, self._cb, self._cr = _bars(width, height)

    @classmethod
    def from_url(cls, url: str) -> TestPatternTrack:
        query = parse_qs(urlsplit(url).query)
        fps = int(query.get("fps", ["15"])[0])
        width, height = (int(v) for v in query.get("size", ["640x480"])[0].split("x"))
        if not (1 <= fps <= 60 and 16 <= width <= 1920 and 16 <= height <= 1080):
            fps, width, height = 15, 640, 480
        return cls(width=width - width % 2, height=height - height % 2, fps=fps)

    async def recv(self) -> av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        due = self._start + self._frames / self._fps
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        frame = av.VideoFrame(self._width, self._height, "yuv420p")
        shift = (self._frames * 8) % self._width
        for plane, rows, width in (
            (frame.planes[0], self._luma, self._width),
            (frame.planes[1], self._cb, self._width // 2),
            (frame.planes[2], self._cr, self._width // 2),
        ):
            step = shift * width // self._width
            row = rows[step:] + rows[:step]
            line = row + bytes(plane.line_size - width)
            plane.update(line * (plane.height))
        frame.pts = self._frames * VIDEO_CLOCK // self._fps
        frame.time_base = VIDEO_TIME_BASE
        self._frames += 1
        return frame


def _bars(width: int, height: int) -> tuple[bytes, bytes, bytes]:
    """One row of each plane of eight colour bars (BT.601 limited range)."""
    colours = [  # Y, Cb, Cr: white, yellow, cyan, green, magenta, red, blue, black
        (235, 128, 128),
        (210, 16, 146),
        (170, 166, 16),
        (145, 54, 34),
        (106, 202, 222),
        (81, 90, 240),
        (41, 240, 110),
        (16, 128, 128),
    ]

    def row(index: int, w: int) -> bytes:
        return bytes(colours[min(7, x * 8 // w)][index] for x in range(w))

    return row(0, width), row(1, width // 2), row(2, width // 2)
