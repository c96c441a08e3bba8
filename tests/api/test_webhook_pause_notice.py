"""A webhook endpoint that fails often enough is paused, and the admins watching the
console's stream are told at once (a WebhookPaused notice), on a real server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import websockets

from alertd.settings import Settings
from alertd.testing.auth import token_for
from alertd.testing.settings import make_settings
from alertd.testing.webhook_receiver import WebhookReceiver, webhook_receiver


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    async with webhook_receiver() as started:
        yield started


@pytest.fixture
def settings(tmp_path: Path, sqlite_url: str) -> Settings:
    """The live server's: loopback allowed, paused after the first failure."""
    return make_settings(
        tmp_path, sqlite_url, webhook_allow_private_addresses=True, webhook_pause_after=1
    )


async def test_a_paused_webhook_is_announced_on_the_admins_stream(
    live_url: str, receiver: WebhookReceiver
) -> None:
    async with httpx.AsyncClient(base_url=live_url) as http:
        token = await token_for(http, "district_admin")
        http.headers["Authorization"] = f"Bearer {token}"
        stream = live_url.replace("http", "ws", 1) + f"/v1/stream?access_token={token}"
        async with asyncio.timeout(20), websockets.connect(stream, proxy=None) as socket:
            assert json.loads(await socket.recv())["type"] == "caught_up"
            created = await http.post("/v1/webhooks", json={"url": receiver.url})
            assert created.status_code == 201
            receiver.fail_next(1, status=500)
            await asyncio.sleep(0.5)  # the fan-out's position is past the subscription
            raised = await http.post(
                "/v1/alerts",
                json={"kind": "hold", "school_id": "lincoln-hs"},
                headers={"Idempotency-Key": "announce-1"},
            )
            assert raised.status_code == 201
            while (message := json.loads(await socket.recv()))["type"] != "WebhookPaused":
                pass
    assert message["data"]["subscription_id"] == created.json()["id"]
    assert message["data"]["failures"] == 1 and message["data"]["last_error"] == "HTTP 500"
    # The failure that paused it (a delivery already in flight in the same batch may follow).
    assert receiver.received[0].answered == 500
