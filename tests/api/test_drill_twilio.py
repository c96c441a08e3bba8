"""A whole drill through the real `twilio` SDK and the loopback simulator: planned,
started, escalated past every step, acknowledged by a reply, ended. Nobody but the test
contacts the plan chose receives anything, and everything they receive says DRILL first."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from twilio_harness import (
    FIRE,
    POLICE,
    PRINCIPAL,
    SECURITY_CHIEF,
    SENDERS,
    SRO_1,
    SRO_2,
    Harness,
    twilio_harness,
)

TEST_CONTACTS = {SRO_1, SRO_2, PRINCIPAL}  # the demo site marks these as test contacts
PROFILE_PHONE = "+15555550177"  # the demo SRO's own phone: not a test contact


@pytest.fixture
async def h(tmp_path: Path, sqlite_url: str) -> AsyncIterator[Harness]:
    async with twilio_harness(tmp_path, sqlite_url) as harness:
        answer = await harness.client.patch("/v1/users/demo-sro", json={"phone": PROFILE_PHONE})
        assert answer.status_code == 200, answer.text
        yield harness


async def _ok(h: Harness, method: str, path: str, **kw: Any) -> Any:
    answer = await h.client.request(method, path, **kw)
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


async def _run_whole_drill(h: Harness, **plan: Any) -> str:
    """Plan, start, escalate past every step, acknowledge by reply, end. The alert id.
    `numbers`: the phones the plan's test contacts have (one of them replies)."""
    when = (h.clock.now() + timedelta(minutes=5)).isoformat()
    numbers = plan.pop("numbers", TEST_CONTACTS)
    body = {"kind": "lockdown", "school_id": "lincoln-hs", "scheduled_for": when} | plan
    planned = await _ok(h, "POST", "/v1/drills", json=body)
    started = await _ok(h, "POST", f"/v1/drills/{planned['id']}/start")
    first = sorted(numbers)[0]
    await h.sim.wait_until(lambda: first in {r.get("To") for r in h.sim.accepted()})
    await h.tick(400)  # past every step of the default escalation policy
    await asyncio.sleep(0.3)
    assert await h.sim.reply(sender=first, to=SENDERS[0], body="1") == 200
    await _ok(h, "POST", f"/v1/drills/{planned['id']}/end")
    alert = await h.alert(started["alert_id"])
    assert alert["state"] == "all_clear" and alert["drill"] is True
    await h.sim.wait_until(
        lambda: any("ALL CLEAR" in (r.get("Body") or "") for r in h.sim.accepted())
    )
    await asyncio.sleep(0.3)  # anything else queued would have gone out by now
    return str(started["alert_id"])


async def test_a_whole_drill_reaches_test_contacts_only(h: Harness) -> None:
    alert_id = await _run_whole_drill(h)
    reached = {r.get("To") for r in h.sim.requests}
    assert reached == TEST_CONTACTS
    assert not reached & {POLICE, FIRE, SECURITY_CHIEF, PROFILE_PHONE}
    assert all((r.get("Body") or "").startswith("DRILL —") for r in h.sim.accepted())
    assert h.sim.accepted("Calls") == []
    ledger = await h.ledger(alert_id)
    assert set(ledger) == {"lincoln-hs-sro-1", "lincoln-hs-sro-2", "lincoln-hs-principal"}


async def test_a_plan_that_names_one_test_contact_texts_only_them(h: Harness) -> None:
    await _run_whole_drill(h, test_contacts=["lincoln-hs-principal"], numbers={PRINCIPAL})
    assert {r.get("To") for r in h.sim.requests} == {PRINCIPAL}
    bodies = [r.get("Body") or "" for r in h.sim.accepted()]
    assert len(bodies) >= 2 and all(b.startswith("DRILL —") for b in bodies)
