"""Texts and calls through the real `twilio` SDK, against the loopback Twilio simulator.

Each story raises an alert at Lincoln High and checks what a dispatcher would notice: who
was texted, what the ledger and the stream say, what Twilio's callbacks and the replies
changed, and what the escalation did on a fake clock.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import websockets
from jsonschema import Draft202012Validator
from twilio_harness import (
    FIRE,
    OLD_TOKEN,
    POLICE,
    PRINCIPAL,
    PUBLIC,
    SECURITY_CHIEF,
    SENDERS,
    SRO_1,
    SRO_2,
    Harness,
    twilio_harness,
)

from alertd.testing.auth import token_for

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
SCHOOL = {SRO_1, SRO_2, PRINCIPAL}
EVERYONE = SCHOOL | {POLICE, FIRE}


@pytest.fixture
async def h(tmp_path: Path, sqlite_url: str) -> AsyncIterator[Harness]:
    async with twilio_harness(tmp_path, sqlite_url) as harness:
        yield harness


async def stream_log(h: Harness) -> list[dict[str, Any]]:
    """Every message a console replaying from the start receives, up to caught_up."""
    token = await token_for(h.client, "dispatcher")
    url = h.url.replace("http://", "ws://") + f"/v1/stream?since=0&access_token={token}"
    found = []
    async with asyncio.timeout(10), websockets.connect(url, proxy=None) as socket:
        while (message := json.loads(await socket.recv()))["type"] != "caught_up":
            found.append(message)
    return found


async def texted(h: Harness, numbers: set[str]) -> None:
    await h.sim.wait_until(lambda: numbers <= {r.get("To") for r in h.sim.accepted()})


async def test_a_lockdown_is_texted_and_the_callbacks_fill_the_ledger_and_the_stream(
    h: Harness,
) -> None:
    h.sim.outcome_for(POLICE, "undelivered", 30003)
    h.sim.outcome_for(FIRE, "failed", 30006)
    alert_id = await h.raise_alert("cb-1")
    await texted(h, EVERYONE)
    for request in h.sim.accepted():
        assert request.get("StatusCallback") == f"{PUBLIC}/v1/twilio/status"
        assert request.get("ValidityPeriod") == "600"
        assert request.get("From") in SENDERS
        body = request.get("Body") or ""
        assert body.startswith("EMERGENCY: LOCKDOWN at Lincoln High School")
        assert f"{PUBLIC}/console/alerts/{alert_id}" in body and "Reply 1 to acknowledge" in body

    def settled(ledger: dict[str, dict[str, Any]]) -> bool:
        return all(d["state"] in ("delivered", "undelivered", "failed") for d in ledger.values())

    ledger = await h.ledger_until(alert_id, settled)
    by_state = {rid: (d["state"], d["error_code"]) for rid, d in ledger.items()}
    assert by_state == {
        "lincoln-hs-sro-1": ("delivered", None),
        "lincoln-hs-sro-2": ("delivered", None),
        "lincoln-hs-principal": ("delivered", None),
        "riverside-pd": ("undelivered", 30003),
        "riverside-fd": ("failed", 30006),
    }
    assert "unreachable" in ledger["riverside-pd"]["error"]
    assert "landline" in ledger["riverside-fd"]["error"]

    failed = [
        m
        for m in await stream_log(h)
        if m["type"] == "DeliveryFailed" and m["data"]["delivery"]["channel"] == "sms"
    ]
    assert sorted(m["data"]["delivery"]["recipient_id"] for m in failed) == [
        "riverside-fd",
        "riverside-pd",
    ]
    metrics = (await h.client.get("/metrics")).text
    assert 'alertd_delivery_failures_total{cause="30003",channel="sms"} 1.0' in metrics
    assert 'alertd_deliveries_total{channel="sms",state="delivered"}' in metrics


async def test_a_forged_callback_is_refused_and_changes_nothing(h: Harness) -> None:
    alert_id = await h.raise_alert("forged-1")
    ledger = await h.ledger_until(
        alert_id, lambda d: d and all(x["state"] == "delivered" for x in d.values())
    )
    sid = next(r.sid for r in h.sim.accepted() if r.get("To") == SRO_1)
    assert sid is not None
    forged = {"MessageSid": sid, "MessageStatus": "failed", "ErrorCode": "30005"}
    forged |= {"AccountSid": h.sim.account_sid}
    url = f"{PUBLIC}/v1/twilio/status"
    assert await h.sim.post_signed(url, forged, token="not-the-auth-token") == 403
    assert await h.sim.post_signed(url, forged, signature="") == 403  # no signature at all
    other_host = "http://127.0.0.1/v1/twilio/status"  # signed for a URL Twilio did not call
    assert await h.sim.post_signed(url, forged, signature=_sign(other_host, forged)) == 403
    assert await h.ledger(alert_id) == ledger
    # During a rotation the previous token still signs valid callbacks (a late "sent" changes
    # nothing, but is accepted).
    late = forged | {"MessageStatus": "sent"}
    late.pop("ErrorCode")
    assert await h.sim.post_signed(url, late, token=OLD_TOKEN) == 204
    assert await h.ledger(alert_id) == ledger
    assert "alertd_webhooks_refused_total 3.0" in (await h.client.get("/metrics")).text


def _sign(url: str, params: dict[str, str]) -> str:
    from twilio.request_validator import RequestValidator
    from twilio_harness import TOKEN

    return str(RequestValidator(TOKEN).compute_signature(url, params))


async def test_permanent_errors_are_recorded_never_retried(h: Harness) -> None:
    h.sim.fail_next("21211", times=5, to=POLICE)  # invalid number: refused for good
    alert_id = await h.raise_alert("perm-1")
    ledger = await h.ledger_until(alert_id, lambda d: d["riverside-pd"]["state"] == "failed")
    pd = ledger["riverside-pd"]
    assert (pd["error_code"], pd["attempts"]) == (21211, 1)
    assert "not a valid phone number" in pd["error"]
    await h.tick(600)  # long past any backoff
    await asyncio.sleep(0.5)
    assert len([r for r in h.sim.requests if r.get("To") == POLICE and r.what == "Messages"]) == 1


async def test_temporary_errors_are_retried_with_backoff_and_the_second_sender_takes_over(
    h: Harness,
) -> None:
    h.sim.fail_next("500", times=100, sender=SENDERS[0])  # the first number keeps failing
    h.sim.fail_next("429", times=1, to=SRO_2)  # refused on the second number too, for now
    alert_id = await h.raise_alert("temp-1")
    await texted(h, EVERYONE - {SRO_2})
    assert {r.get("From") for r in h.sim.accepted()} == {SENDERS[1]}
    ledger = await h.ledger_until(alert_id, lambda d: d["lincoln-hs-sro-2"]["attempts"] == 1)
    assert ledger["lincoln-hs-sro-2"]["state"] == "queued"
    assert "too many requests" in ledger["lincoln-hs-sro-2"]["error"]
    h.clock.advance(5)  # the backoff (with jitter) is over
    await texted(h, EVERYONE)
    ledger = await h.ledger_until(alert_id, lambda d: d["lincoln-hs-sro-2"]["state"] == "delivered")
    assert ledger["lincoln-hs-sro-2"]["attempts"] == 2
    assert not ledger["lincoln-hs-sro-2"]["repeat_possible"]  # a 429 sent nothing
    # After three failures in a row the first number is benched: no more tries on it.
    tried_first = len([r for r in h.sim.requests if r.get("From") == SENDERS[0]])
    await h.raise_alert("temp-2", room_id="lincoln-hs-a-102", kind="medical")
    await h.sim.wait_until(lambda: len(h.sim.accepted()) >= 10)
    assert len([r for r in h.sim.requests if r.get("From") == SENDERS[0]]) == tried_first


async def test_a_timeout_is_retried_and_marked_as_a_possible_repeat(h: Harness) -> None:
    h.sim.fail_next("hang", times=1, to=FIRE)
    alert_id = await h.raise_alert("hang-1")
    ledger = await h.ledger_until(alert_id, lambda d: d["riverside-fd"]["attempts"] == 1)
    assert ledger["riverside-fd"]["repeat_possible"]
    h.clock.advance(5)
    ledger = await h.ledger_until(alert_id, lambda d: d["riverside-fd"]["state"] == "delivered")
    assert ledger["riverside-fd"]["repeat_possible"]
    assert len([r for r in h.sim.requests if r.get("To") == FIRE]) == 2
    assert not ledger["riverside-pd"]["repeat_possible"]


async def test_reply_1_acknowledges_as_that_contact_and_stops_the_escalation(h: Harness) -> None:
    alert_id = await h.raise_alert("reply-1")
    await texted(h, EVERYONE)
    assert await h.sim.reply(sender=SRO_1, to=SENDERS[0], body=" 1 ") == 200
    alert = await h.alert(alert_id)
    assert alert["state"] == "acknowledged"
    assert [(r["actor"]["name"], r["actor"]["kind"]) for r in alert["responders"]] == [
        ("Officer Maria Garcia", "contact")
    ]
    await h.tick(61)
    await h.tick(600)
    assert h.sim.accepted("Calls") == []
    log = await stream_log(h)
    acked = next(m for m in log if m["type"] == "AlertAcknowledged")
    schema = json.loads((SCHEMAS / "messages" / "AlertEventMessage.schema.json").read_text())
    Draft202012Validator(schema).validate(acked)  # a contact is a kind of actor on the wire
    stopped = [m for m in log if m["type"] == "Escalated"]
    assert [m["data"]["state"] for m in stopped] == ["stopped"]
    assert stopped[0]["data"]["stopped"] == "acknowledged"


async def test_unanswered_the_agencies_are_called_and_pressing_1_acknowledges(h: Harness) -> None:
    alert_id = await h.raise_alert("call-1")
    await texted(h, EVERYONE)
    await h.tick(59)
    assert h.sim.accepted("Calls") == []  # not yet
    await h.tick(2)
    await h.sim.wait_until(lambda: len(h.sim.accepted("Calls")) == 2)
    calls = {c.get("To"): c for c in h.sim.accepted("Calls")}
    assert set(calls) == {POLICE, FIRE}
    twiml = calls[POLICE].get("Twiml") or ""
    assert twiml.count("<Say>Emergency. LOCKDOWN at Lincoln High School") == 2
    assert f'action="{PUBLIC}/v1/twilio/voice/gather"' in twiml and 'numDigits="1"' in twiml
    assert calls[POLICE].get("From") in SENDERS
    ledger = await h.ledger_until(
        alert_id,
        lambda d: d.get("riverside-pd", {}).get("state") == "delivered",
        channel="voice",
    )
    assert ledger["riverside-pd"]["about"] == "Escalation step 1"
    assert await h.sim.press(calls[POLICE], "1") == 200
    alert = await h.alert(alert_id)
    assert alert["state"] == "acknowledged"
    assert alert["responders"][0]["actor"]["name"] == "Riverside Police Department"
    await h.tick(600)  # the repeat and the backups' step never come
    assert len(h.sim.accepted("Calls")) == 2
    assert SECURITY_CHIEF not in {r.get("To") for r in h.sim.requests}


async def test_stop_is_honoured_and_start_undoes_it_unknown_senders_change_nothing(
    h: Harness,
) -> None:
    assert await h.sim.reply(sender="+15555550999", to=SENDERS[0], body="1") == 200  # unknown
    assert await h.sim.reply(sender=SRO_1, to=SENDERS[0], body="STOP") == 200
    alert_id = await h.raise_alert("stop-1")
    ledger = await h.ledger_until(alert_id, lambda d: d["lincoln-hs-sro-1"]["state"] == "failed")
    assert ledger["lincoln-hs-sro-1"]["error_code"] == 21610
    assert "STOP" in ledger["lincoln-hs-sro-1"]["error"]
    await texted(h, EVERYONE - {SRO_1})
    assert SRO_1 not in {r.get("To") for r in h.sim.requests}
    assert (await h.alert(alert_id))["state"] == "raised"  # the unknown "1" did nothing
    assert await h.sim.reply(sender=SRO_1, to=SENDERS[0], body="start") == 200
    await h.raise_alert("stop-2", kind="medical", room_id="lincoln-hs-a-102")
    await texted(h, {SRO_1})


async def test_a_drill_reaches_test_contacts_only_even_when_escalating(h: Harness) -> None:
    alert_id = await h.raise_alert("drill-1", drill=True)
    await texted(h, SCHOOL)
    await h.tick(400)  # past every step of the default policy
    await asyncio.sleep(0.3)
    reached = {r.get("To") for r in h.sim.requests}
    assert reached == SCHOOL  # no agency, no backup: they are not test contacts
    assert all((r.get("Body") or "").startswith("DRILL —") for r in h.sim.accepted())
    assert h.sim.accepted("Calls") == []
    assert (await h.alert(alert_id))["drill"] is True


async def test_a_text_that_failed_brings_the_call_forward(h: Harness) -> None:
    h.sim.outcome_for(POLICE, "undelivered", 30003)  # the police's phone is unreachable
    alert_id = await h.raise_alert("hasten-1")
    await h.sim.wait_until(lambda: len(h.sim.accepted("Calls")) == 2)  # no clock advanced
    assert {c.get("To") for c in h.sim.accepted("Calls")} == {POLICE, FIRE}
    assert (await h.alert(alert_id))["state"] == "raised"


async def test_an_sro_is_texted_at_the_number_in_their_profile(h: Harness) -> None:
    profile_phone = "+15555550177"
    answer = await h.client.patch("/v1/users/demo-sro", json={"phone": "+1 (555) 555-0177"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["phone"] == profile_phone  # the admin API keeps it in E.164
    alert_id = await h.raise_alert("profile-1")
    await texted(h, EVERYONE | {profile_phone})
    ledger = await h.ledger(alert_id)
    assert ledger["user:demo-sro"]["recipient_name"] == "Officer Riley"
    drill_id = await h.raise_alert("profile-2", drill=True, room_id="lincoln-hs-a-102")
    await h.ledger_until(drill_id, lambda d: len(d) == 3)
    assert "user:demo-sro" not in await h.ledger(drill_id)  # not a test contact
    cleared = await h.client.patch("/v1/users/demo-sro", json={"phone": None})
    assert cleared.status_code == 200 and cleared.json()["phone"] is None, cleared.text
    later = await h.raise_alert("profile-3", room_id="lincoln-hs-a-103")
    await h.ledger_until(later, lambda d: len(d) >= len(EVERYONE))
    assert "user:demo-sro" not in await h.ledger(later)  # no number, no text


async def test_an_upgrade_starts_the_new_kinds_escalation(h: Harness) -> None:
    alert_id = await h.raise_alert("upgrade-1", kind="staff_assist")
    await texted(h, SCHOOL)
    upgraded = await h.client.post(f"/v1/alerts/{alert_id}/upgrade", json={"kind": "lockdown"})
    assert upgraded.status_code == 200, upgraded.text
    await texted(h, EVERYONE)  # the agencies hear of it now
    await h.tick(61)
    await h.sim.wait_until(lambda: len(h.sim.accepted("Calls")) == 2)
    assert {c.get("To") for c in h.sim.accepted("Calls")} == {POLICE, FIRE}
