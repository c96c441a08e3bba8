"""One event, one WebSocket frame, written to every console's socket as it is.

A server's frames are not masked (RFC 6455, 5.1), so a text message is the same bytes on
every connection that negotiated no extension: the stream builds the frame once per event
and writes it to each console's transport. Sent the ASGI way, each console paid for
Starlette's and uvicorn's layers and for building the frame again: most of the CPU of an
alert with 50 consoles.

That needs the server's socket, which ASGI does not hand out. `CaptureSend` (outermost
middleware) keeps the server's own `send` for the stream; `DirectFrames.of` recognises
uvicorn's WebSocket protocol behind it (a bound method of an object with a `transport`, a
sans-I/O `conn` that negotiated no extension, and the `writable` event its flow control
clears while the socket's buffer is full) and otherwise answers None: the stream then sends
the ASGI way, as any server would need. Like the server's own send, a write waits while the
client is not reading, so a stalled console is still noticed and cut off.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from alertd.adapters.wire.contract import STREAM_ADDRESS

RAW_SEND = "alertd.raw_send"


def text_frame(payload: bytes) -> bytes:
    """A final, unmasked text frame (opcode 0x1) carrying `payload` (RFC 6455, 5.2)."""
    size = len(payload)
    if size < 126:
        header = bytes((0x81, size))
    elif size < 1 << 16:
        header = bytes((0x81, 126)) + size.to_bytes(2, "big")
    else:
        header = bytes((0x81, 127)) + size.to_bytes(8, "big")
    return header + payload


class DirectFrames:
    """Writes ready frames straight to one console's socket."""

    def __init__(self, protocol: Any, transport: Any, writable: asyncio.Event) -> None:
        self._protocol = protocol
        self._transport = transport
        self._writable = writable

    @classmethod
    def of(cls, send: object) -> DirectFrames | None:
        protocol = getattr(send, "__self__", None)
        transport = getattr(protocol, "transport", None)
        conn = getattr(protocol, "conn", None)
        writable = getattr(protocol, "writable", None)
        # uvloop's transports are not asyncio.Transport subclasses: ask for what is used.
        if not all(callable(getattr(transport, name, None)) for name in ("write", "is_closing")):
            return None
        if conn is None or not isinstance(writable, asyncio.Event):
            return None
        if getattr(conn, "extensions", None) != []:  # compression would change the bytes
            return None
        return cls(protocol, transport, writable)

    async def write(self, frame: bytes) -> None:
        """Waits while the socket's buffer is full; raises ConnectionError once the socket
        is closing or a close frame went out."""
        if not self._writable.is_set():
            await self._writable.wait()
        if not self.write_now(frame):  # writable now: only a closed socket refuses
            raise ConnectionError("the stream's socket is closed")

    def write_now(self, frame: bytes) -> bool:
        """Writes `frame` if that cannot wait: the socket takes more and is open. False
        otherwise, and the frame is for `write`, which waits or raises."""
        if not self._writable.is_set() or self._transport.is_closing():
            return False
        if getattr(self._protocol, "close_sent", False):
            return False
        self._transport.write(frame)
        return True


class CaptureSend:
    """Keeps the server's `send` of a stream connection in its scope (`RAW_SEND`), before
    any middleware wraps it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and scope["path"] == STREAM_ADDRESS:
            scope[RAW_SEND] = send
        await self.app(scope, receive, send)
