"""Texts go out after commit through the outbox: retried when temporary, never stranded."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI

from alertd.adapters.auth.demo import seed_demo_users
from alertd.adapters.db.claim import Heartbeat
from alertd.app.ports import DeliveryError, Receipt
from alertd.app.relay import OutboxRelay, sms_handler
from alertd.core.delivery import DeliveryState
from alertd.core.effect import SendSms
from alertd.core.operator import STARTUP
from alertd.main import create_app, demo_site
from alertd.settings import Settings
from alertd.testing.auth import headers_for
from alertd.testing.clock import FakeClock

LINCOLN_SCHOOL_PHONES = {"+15555550111", "+15555550112", "+15555550113"}  # 2 SROs, principal
LINCOLN_AGENCY_PHONES = {"+15555550100", "+15555550101"}  # police, fire & EMS


class ScriptedGateway:
    """A gateway whose next answers the test decides: ok, temporary, permanent or a bug."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.sent: list[str] = []

    async def send_sms(self, *, to: str, body: str, alert_id: str, drill: bool) -> Receipt:
        answer = self.answers.pop(0) if self.answers else "ok"
        if answer == "temporary":
            raise DeliveryError("429 too many requests", temporary=True)
        if answer == "permanent":
            raise DeliveryError("21610 unsubscribed", temporary=False)
        if answer == "bug":
            raise KeyError("oops")
        self.sent.append(to)
        return Receipt(DeliveryState.SENT, provider_ref=f"SM{len(self.sent):032d}")


async def raise_alert(client: httpx.AsyncClient, key: str, **body: object) -> str:
    payload = {"kind": "lockdown", "school_id": "lincoln-hs", "room_id": "lincoln-hs-a-101"}
    answer = await client.post("/v1/alerts", json=payload | body, headers={"Idempotency-Key": key})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


async def texts_about(settings: Settings, alert_id: str, *, count: int) -> list[dict[str, str]]:
    """Wait (bounded) until the SMS outbox file holds `count` texts about the alert."""
    path = settings.resolved_sms_outbox()
    texts: list[dict[str, str]] = []
    async with asyncio.timeout(10):
        while len(texts) < count:
            await asyncio.sleep(0.05)
            lines = path.read_text().splitlines() if path.exists() else []
            texts = [t for t in map(json.loads, lines) if t["alert_id"] == alert_id]
    return texts


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def idle_app(settings: Settings, clock: FakeClock) -> AsyncIterator[FastAPI]:
    """The app without its background worker (no lifespan): the test drives the relay."""
    app = create_app(settings, clock=clock)
    await app.state.context.alerts.load_site(demo_site().to_site(), principal=STARTUP)
    await seed_demo_users(app.state.database, now=clock.now())
    yield app


@asynccontextmanager
async def signed_in(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        client.headers.update(await headers_for(client, "district_admin"))
        yield client


async def test_a_real_lockdown_texts_the_school_and_the_agencies(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    alert_id = await raise_alert(client, "real-1")
    texts = await texts_about(settings, alert_id, count=5)
    assert {t["to"] for t in texts} == LINCOLN_SCHOOL_PHONES | LINCOLN_AGENCY_PHONES
    assert all(t["body"].startswith("EMERGENCY: LOCKDOWN") for t in texts)


async def test_a_drill_texts_only_the_school_and_says_drill(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    alert_id = await raise_alert(client, "drill-1", drill=True)
    texts = await texts_about(settings, alert_id, count=3)
    await asyncio.sleep(0.3)  # one more relay round: still no agency
    texts = await texts_about(settings, alert_id, count=3)
    assert {t["to"] for t in texts} == LINCOLN_SCHOOL_PHONES
    assert all(t["body"].startswith("DRILL —") for t in texts)


async def test_temporary_failures_and_gateway_bugs_are_retried_permanent_ones_are_not(
    idle_app: FastAPI, clock: FakeClock
) -> None:
    async with signed_in(idle_app) as client:
        await raise_alert(client, "flaky-1", drill=True)  # three texts
    gateway = ScriptedGateway("temporary", "permanent", "bug")
    ctx = idle_app.state.context
    relay = OutboxRelay(
        store=ctx.store, bus=ctx.bus, handlers={SendSms: sms_handler(gateway)}, clock=clock
    )
    await relay.run_once()
    await relay.run_once()
    assert gateway.sent == []  # the retries are not due yet
    clock.advance(5)
    await relay.run_once()
    assert len(gateway.sent) == 2  # the temporary failure and the bug; not the permanent one
    clock.advance(3600)
    assert await idle_app.state.context.store.due_effects(now=clock.now(), limit=10) == []


async def test_texts_claimed_by_a_killed_run_go_out_when_the_server_restarts(
    idle_app: FastAPI, settings: Settings, clock: FakeClock
) -> None:
    async with signed_in(idle_app) as client:
        alert_id = await raise_alert(client, "claimed-1", drill=True)
    store = idle_app.state.context.store
    claimed = await store.due_effects(now=clock.now(), limit=10)
    assert len(claimed) == 3  # claimed by a relay that then "died" without sending
    restarted = create_app(settings, clock=clock)
    async with restarted.router.lifespan_context(restarted):
        texts = await texts_about(settings, alert_id, count=3)
    assert {t["to"] for t in texts} == LINCOLN_SCHOOL_PHONES


async def deliveries_of(client: httpx.AsyncClient, alert_id: str) -> list[dict[str, object]]:
    detail = await client.get(f"/v1/alerts/{alert_id}")
    assert detail.status_code == 200, detail.text
    found: list[dict[str, object]] = detail.json()["deliveries"]
    return found


async def test_the_ledger_says_who_was_reached_and_who_was_not(
    idle_app: FastAPI, clock: FakeClock
) -> None:
    async with signed_in(idle_app) as client:
        alert_id = await raise_alert(client, "ledger-1", drill=True)  # three texts
        queued = await deliveries_of(client, alert_id)
        assert [d["state"] for d in queued] == ["queued"] * 3
        assert {d["recipient_kind"] for d in queued} == {"sro", "school_admin"}
        assert all(str(d["address"]).startswith("…") for d in queued)
        ctx = idle_app.state.context
        gateway = ScriptedGateway("temporary", "permanent", "ok")
        relay = OutboxRelay(
            store=ctx.store, bus=ctx.bus, handlers={SendSms: sms_handler(gateway)}, clock=clock
        )
        await relay.run_once()
        after = {d["id"]: d for d in await deliveries_of(client, alert_id)}
        first, second, third = (after[d["id"]] for d in queued)
        assert (first["state"], first["attempts"], first["error"]) == (
            "queued",
            1,
            "429 too many requests",
        )
        assert (second["state"], second["error"]) == ("failed", "21610 unsubscribed")
        assert (third["state"], third["attempts"]) == ("sent", 1)
        clock.advance(5)
        await relay.run_once()
        retried = {d["id"]: d for d in await deliveries_of(client, alert_id)}[first["id"]]
        assert (retried["state"], retried["attempts"]) == ("sent", 2)
        # Staff may see their own alert, but not the texts about anyone's.
        staff = await headers_for(client, "staff")
        mine = await client.post(
            "/v1/alerts",
            json={"kind": "medical", "school_id": "lincoln-hs", "room_id": "lincoln-hs-a-102"},
            headers={"Idempotency-Key": "staff-own", **staff},
        )
        detail = await client.get(f"/v1/alerts/{mine.json()['id']}", headers=staff)
        assert detail.status_code == 200
        assert detail.json()["deliveries"] is None


async def test_without_a_provider_texts_are_recorded_not_reported_as_sent(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    alert_id = await raise_alert(client, "recorded-1")
    await texts_about(settings, alert_id, count=5)
    async with asyncio.timeout(10):
        while {d["state"] for d in await deliveries_of(client, alert_id)} != {"recorded"}:
            await asyncio.sleep(0.05)
    deliveries = await deliveries_of(client, alert_id)
    assert len(deliveries) == 5
    assert {d["recipient_kind"] for d in deliveries} == {"sro", "school_admin", "agency"}


async def test_real_alerts_texts_are_claimed_before_drills(
    idle_app: FastAPI, clock: FakeClock
) -> None:
    async with signed_in(idle_app) as client:
        drill_id = await raise_alert(client, "prio-drill", drill=True)  # queued first
        real_id = await raise_alert(client, "prio-real", room_id="lincoln-hs-a-102")
    store = idle_app.state.context.store
    # Alive (its workers are not running here), so its claims hold against the next claim.
    await Heartbeat(idle_app.state.database, store.instance, clock).run_once()
    claimed = await store.due_effects(now=clock.now(), limit=5)
    assert [item.effect.alert_id for item in claimed] == [real_id] * 5
    rest = await store.due_effects(now=clock.now(), limit=5)
    assert {item.effect.alert_id for item in rest} == {drill_id}
