"""A webhook endpoint for tests: a real HTTP server on loopback that keeps every request and
fails on demand (`fail_next`), so retries, pausing and redelivery can be watched."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiohttp import web


@dataclass(frozen=True)
class ReceivedWebhook:
    headers: dict[str, str]
    body: str
    answered: int  # the status the receiver answered with


class WebhookReceiver:
    def __init__(self) -> None:
        self.received: list[ReceivedWebhook] = []
        self._failures: list[int] = []
        self._arrived = asyncio.Event()
        self.url = ""

    def fail_next(self, count: int, *, status: int = 503) -> None:
        """Answer the next `count` requests with `status` (then 204 again); replaces any
        failures still pending, so `fail_next(0)` makes it answer 204 from now on."""
        self._failures = [status] * count

    async def wait_for(self, count: int, *, seconds: float = 10) -> list[ReceivedWebhook]:
        """Until `count` requests have arrived; TimeoutError otherwise."""
        async with asyncio.timeout(seconds):
            while len(self.received) < count:
                self._arrived.clear()
                await self._arrived.wait()
        return self.received

    async def _handle(self, request: web.Request) -> web.Response:
        status = self._failures.pop(0) if self._failures else 204
        body = await request.text()
        headers = {k.lower(): v for k, v in request.headers.items()}
        self.received.append(ReceivedWebhook(headers, body, status))
        self._arrived.set()
        return web.Response(status=status)


@contextlib.asynccontextmanager
async def webhook_receiver() -> AsyncIterator[WebhookReceiver]:
    """A receiver listening on 127.0.0.1 (a free port) at `/hooks/alertd`."""
    receiver = WebhookReceiver()
    app = web.Application()
    app.router.add_post("/hooks/alertd", receiver._handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    receiver.url = f"http://127.0.0.1:{port}/hooks/alertd"
    try:
        yield receiver
    finally:
        await runner.cleanup()
