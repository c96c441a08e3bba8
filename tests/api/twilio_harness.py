"""alertd on a real port, sending through the real `twilio` SDK to the loopback simulator.

The app runs on a FakeClock: the outbox's backoff and the escalation's timers move only when
a test advances it. Twilio's webhooks reach alertd through the simulator, signed for the
public URL (as behind a proxy) and delivered to the real address.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from alertd.main import create_app
from alertd.testing.auth import headers_for
from alertd.testing.clock import FakeClock
from alertd.testing.live import serving
from alertd.testing.settings import make_settings
from alertd.testing.twilio_sim import TwilioSimulator

SPEC = Path(__file__).resolve().parents[1] / "fixtures" / "twilio" / "twilio_api_v2010.json"
ACCOUNT = "AC" + "1" * 32
TOKEN = "sim-auth-token-0123456789abcdef01"
OLD_TOKEN = "sim-old-token-0123456789abcdef0123"  # still accepted during a rotation
PUBLIC = "https://alertd.example.org"
SENDERS = ("+15555550190", "+15555550191")

# The demo district's Lincoln High: who a real lockdown reaches.
SRO_1, SRO_2, PRINCIPAL = "+15555550111", "+15555550112", "+15555550113"
POLICE, FIRE, SECURITY_CHIEF = "+15555550100", "+15555550101", "+15555550103"
LOCKDOWN = {"kind": "lockdown", "school_id": "lincoln-hs", "room_id": "lincoln-hs-a-101"}


@dataclass
class Harness:
    app: FastAPI
    sim: TwilioSimulator
    clock: FakeClock
    client: httpx.AsyncClient  # signed in as the district admin
    url: str

    async def raise_alert(self, key: str, **body: Any) -> str:
        answer = await self.client.post(
            "/v1/alerts", json=LOCKDOWN | body, headers={"Idempotency-Key": key}
        )
        assert answer.status_code == 201, answer.text
        return str(answer.json()["id"])

    async def alert(self, alert_id: str) -> dict[str, Any]:
        answer = await self.client.get(f"/v1/alerts/{alert_id}")
        assert answer.status_code == 200, answer.text
        found: dict[str, Any] = answer.json()
        return found

    async def ledger(self, alert_id: str, channel: str = "sms") -> dict[str, dict[str, Any]]:
        """The alert's deliveries on `channel` by recipient id (the newest of each)."""
        deliveries = (await self.alert(alert_id))["deliveries"]
        return {d["recipient_id"]: d for d in deliveries if d["channel"] == channel}

    async def ledger_until(
        self, alert_id: str, check: Any, *, channel: str = "sms", timeout: float = 10
    ) -> dict[str, dict[str, Any]]:
        async with asyncio.timeout(timeout):
            while not check(ledger := await self.ledger(alert_id, channel)):
                await asyncio.sleep(0.05)
        return ledger

    async def tick(self, seconds: float) -> None:
        """Move the fake clock on and run what became due at once."""
        self.clock.advance(seconds)
        await self.app.state.escalation.run_once()


@asynccontextmanager
async def twilio_harness(
    tmp_path: Path, sqlite_url: str, **settings: Any
) -> AsyncIterator[Harness]:
    sim = TwilioSimulator(account_sid=ACCOUNT, auth_token=TOKEN, spec_path=SPEC)
    await sim.start()
    values: dict[str, Any] = {
        "twilio_account_sid": ACCOUNT,
        "twilio_auth_token": TOKEN,
        "twilio_auth_token_secondary": OLD_TOKEN,
        "twilio_from": ",".join(SENDERS),
        "twilio_api_base": sim.url,
        "twilio_rate_per_sender": 0,
        "twilio_timeout_seconds": 1,
        "public_url": PUBLIC,
        "outbox_poll_seconds": 0.05,
    }
    values.update(settings)
    clock = FakeClock()
    app = create_app(make_settings(tmp_path, sqlite_url, **values), clock=clock)
    try:
        async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=10) as client:
            sim.deliver_to = (PUBLIC, url)
            client.headers.update(await headers_for(client, "district_admin"))
            yield Harness(app, sim, clock, client, url)
    finally:
        await sim.stop()
