"""Real `alertd serve` processes sending through the loopback Twilio, killed with SIGKILL.

- Killed in the middle of sending: the texts whose SID alertd had recorded are not sent
  again after the restart; the one whose request was in flight (no SID) is sent again, and
  the ledger says that a repeat was possible.
- Killed in the middle of an escalation policy: after the restart every step runs, none is
  skipped and none is doubled.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import websockets

from alertd.main import demo_site
from alertd.testing.auth import headers_for
from alertd.testing.twilio_sim import TwilioSimulator

if TYPE_CHECKING:
    from conftest import AlertdProcess, AlertdProcesses

pytestmark = pytest.mark.integration

SPEC = Path(__file__).resolve().parents[1] / "fixtures" / "twilio" / "twilio_api_v2010.json"
ACCOUNT, TOKEN = "AC" + "2" * 32, "integration-twilio-token-0123456789"
PUBLIC = "https://alertd.example.net"
SENDER = "+15555550190"
SRO_1, SRO_2, PRINCIPAL = "+15555550111", "+15555550112", "+15555550113"
POLICE, FIRE, SECURITY_CHIEF = "+15555550100", "+15555550101", "+15555550103"
LOCKDOWN = {"kind": "lockdown", "school_id": "lincoln-hs", "room_id": "lincoln-hs-a-101"}


@pytest.fixture
async def sim() -> AsyncIterator[TwilioSimulator]:
    simulator = TwilioSimulator(account_sid=ACCOUNT, auth_token=TOKEN, spec_path=SPEC)
    await simulator.start()
    try:
        yield simulator
    finally:
        await simulator.stop()


@pytest.fixture
def data_dir(tmp_path: Path, alertd_processes: AlertdProcesses) -> Path:
    path = tmp_path / "alertd"
    path.mkdir()
    alertd_processes.upgrade(path)
    return path


async def start(processes: AlertdProcesses, data_dir: Path, sim: TwilioSimulator) -> AlertdProcess:
    server = await processes.start(
        data_dir,
        ALERTD_TWILIO_ACCOUNT_SID=ACCOUNT,
        ALERTD_TWILIO_AUTH_TOKEN=TOKEN,
        ALERTD_TWILIO_FROM=SENDER,
        ALERTD_TWILIO_API_BASE=sim.url,
        ALERTD_TWILIO_RATE_PER_SENDER="0",
        ALERTD_TWILIO_TIMEOUT_SECONDS="30",  # the hung request is still in flight when killed
        ALERTD_PUBLIC_URL=PUBLIC,
        ALERTD_OUTBOX_POLL_SECONDS="0.2",
    )
    sim.deliver_to = (PUBLIC, server.url)
    return server


@asynccontextmanager
async def admin(server: AlertdProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        client.headers.update(await headers_for(client, "district_admin"))
        yield client


async def ledger_until(server: AlertdProcess, alert_id: str, check: Any) -> dict[str, Any]:
    async with admin(server) as client, asyncio.timeout(60):  # generous: a loaded CI
        while True:
            deliveries = (await client.get(f"/v1/alerts/{alert_id}")).json()["deliveries"]
            if check(deliveries):
                return {f"{d['recipient_id']}/{d['channel']}": d for d in deliveries}
            await asyncio.sleep(0.1)


def sent_to(sim: TwilioSimulator, what: str = "Messages") -> Counter[str | None]:
    return Counter(r.get("To") for r in sim.requests if r.what == what)


async def test_kill_9_mid_send_never_resends_a_text_whose_sid_was_recorded(
    alertd_processes: AlertdProcesses, data_dir: Path, sim: TwilioSimulator
) -> None:
    sim.fail_next("hang", times=1, to=FIRE)  # this request goes out and never comes back
    server = await start(alertd_processes, data_dir, sim)
    async with admin(server) as client:
        raised = await client.post(
            "/v1/alerts", json=LOCKDOWN, headers={"Idempotency-Key": "kill-mid-send"}
        )
    assert raised.status_code == 201, raised.text
    alert_id = raised.json()["id"]
    # Four texts went out and their SIDs are on record (their callbacks found them); the
    # fifth is in flight.
    await ledger_until(server, alert_id, lambda ds: sum(d["state"] == "delivered" for d in ds) == 4)
    assert sent_to(sim)[FIRE] == 1
    server.kill()

    server = await start(alertd_processes, data_dir, sim)
    ledger = await ledger_until(
        server, alert_id, lambda ds: ds and all(d["state"] == "delivered" for d in ds)
    )
    assert sent_to(sim) == {SRO_1: 1, SRO_2: 1, PRINCIPAL: 1, POLICE: 1, FIRE: 2}
    assert ledger["riverside-fd/sms"]["repeat_possible"] is True
    assert [k for k, d in ledger.items() if d["repeat_possible"]] == ["riverside-fd/sms"]


async def test_a_restart_in_the_middle_of_a_policy_skips_no_step_and_doubles_none(
    alertd_processes: AlertdProcesses, data_dir: Path, sim: TwilioSimulator
) -> None:
    server = await start(alertd_processes, data_dir, sim)
    document = demo_site().model_dump(mode="json", exclude_none=True)
    document["escalation"] = [
        {
            "kinds": ["lockdown"],
            "steps": [
                {"targets": ["agency"], "channel": "voice", "after_seconds": 2},
                {"targets": ["backup"], "channel": "sms", "after_seconds": 4},
            ],
        }
    ]
    async with admin(server) as client:
        loaded = await client.post("/v1/sites", json=document)
        assert loaded.status_code == 200, loaded.text
        raised = await client.post(
            "/v1/alerts", json=LOCKDOWN, headers={"Idempotency-Key": "kill-mid-policy"}
        )
    alert_id = raised.json()["id"]
    # Step 1 ran: both agencies were called, and the calls are on record. Then: kill -9.
    await ledger_until(
        server,
        alert_id,
        lambda ds: sum(d["channel"] == "voice" and d["state"] == "delivered" for d in ds) == 2,
    )
    server.kill()
    assert sent_to(sim, "Calls") == {POLICE: 1, FIRE: 1}
    assert SECURITY_CHIEF not in sent_to(sim)

    server = await start(alertd_processes, data_dir, sim)
    await ledger_until(
        server,
        alert_id,
        lambda ds: any(
            d["recipient_id"] == "riverside-usd-security" and d["state"] == "delivered" for d in ds
        ),
    )
    await asyncio.sleep(1)  # anything doubled would show by now
    assert sent_to(sim, "Calls") == {POLICE: 1, FIRE: 1}
    assert sent_to(sim)[SECURITY_CHIEF] == 1
    steps = [m["data"] for m in await notices(server) if m["type"] == "Escalated"]
    assert [(s["step"], s["state"]) for s in steps] == [(1, "active"), (2, "done")]


async def notices(server: AlertdProcess) -> list[dict[str, Any]]:
    messages = []
    async with (
        asyncio.timeout(30),
        websockets.connect(await server.stream_url(0), proxy=None) as ws,
    ):
        while (message := json.loads(await ws.recv()))["type"] != "caught_up":
            messages.append(message)
    return messages
