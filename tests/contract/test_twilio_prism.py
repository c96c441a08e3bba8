"""The real SDK's requests, as alertd makes them, are what Twilio's own OpenAPI document
accepts: Prism (`@stoplight/prism-cli`, installed by ./dev under tests/node_modules) serves
the document and refuses any request that breaks it (422; 401 without credentials)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from alertd.adapters.metrics import Metrics
from alertd.adapters.twilio.gateway import Account, TwilioGateway
from alertd.testing.servers import free_port

pytestmark = pytest.mark.integration

TESTS = Path(__file__).resolve().parents[1]
PRISM = TESTS / "node_modules" / ".bin" / "prism"
SPEC = TESTS / "fixtures" / "twilio" / "twilio_api_v2010.json"
ACCOUNT = "AC" + "1" * 32
MESSAGES = f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"


@pytest.fixture(scope="module")
def prism() -> Iterator[str]:
    assert PRISM.exists(), "run ./dev test (it installs Prism with npm ci in tests/)"
    port = free_port()
    process = subprocess.Popen(
        [str(PRISM), "mock", "-h", "127.0.0.1", "-p", str(port), str(SPEC)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(url + "/2010-04-01/Accounts.json", auth=(ACCOUNT, "t"))
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "Prism did not start within 60 s"
                assert process.poll() is None, "Prism exited"
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def gateway(prism: str, *senders: str) -> TwilioGateway:
    return TwilioGateway(
        accounts=[Account(ACCOUNT, "auth-token", senders)],
        public_url="https://alertd.example.org",
        api_base=prism,
        validity_seconds=600,
        timeout_seconds=10,
        metrics=Metrics(),
        rate=0,
    )


@pytest.mark.parametrize("sender", ["+15555550190", "MG" + "a" * 32])
async def test_a_text_from_a_number_or_a_messaging_service_is_accepted(
    prism: str, sender: str
) -> None:
    twilio = gateway(prism, sender)
    try:
        receipt = await twilio.send_sms(
            to="+15555550111", body="EMERGENCY: LOCKDOWN", alert_id="a-1", drill=False
        )
    finally:
        await twilio.close()
    assert receipt.provider_ref and receipt.provider_ref.startswith("SM")


async def test_a_call_with_inline_twiml_and_a_gather_is_accepted(prism: str) -> None:
    twilio = gateway(prism, "+15555550190")
    try:
        receipt = await twilio.place_call(
            to="+15555550100", script="Emergency. LOCKDOWN.", alert_id="a-1", drill=False
        )
    finally:
        await twilio.close()
    assert receipt.provider_ref and receipt.provider_ref.startswith("CA")


async def test_prism_refuses_what_breaks_the_document(prism: str) -> None:
    """The check has teeth: no `To` is 422, no credentials 401."""
    async with httpx.AsyncClient(base_url=prism) as client:
        missing_to = await client.post(
            MESSAGES, data={"From": "+15555550190", "Body": "x"}, auth=(ACCOUNT, "t")
        )
        anonymous = await client.post(MESSAGES, data={"To": "+15555550111", "Body": "x"})
    assert (missing_to.status_code, anonymous.status_code) == (422, 401)
