"""Outbound webhooks against a real loopback receiver that fails on demand: signed per
Standard Webhooks, retried with backoff from the outbox, paused after failures in a row
(the admins are told on the stream), redelivered by hand; targets inside the school's
network refused, when subscribing and at delivery."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from standardwebhooks.webhooks import Webhook

from alertd.adapters.auth.demo import seed_demo_users
from alertd.app.ports import LogQuery
from alertd.core.operator import STARTUP
from alertd.core.webhook import IpAddress
from alertd.main import create_app, demo_site
from alertd.settings import Settings
from alertd.testing.auth import headers_for
from alertd.testing.clock import FakeClock
from alertd.testing.settings import make_settings
from alertd.testing.stream_contract import StreamContract
from alertd.testing.webhook_receiver import WebhookReceiver, webhook_receiver
from alertd.wiring import webhooks as webhook_wiring


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    async with webhook_receiver() as started:
        yield started


@pytest.fixture
def clock() -> FakeClock:
    # Now, so that the receiver's library accepts the signed timestamps (5 minutes' tolerance).
    return FakeClock(datetime.now(UTC))


def hook_settings(tmp_path: Path, sqlite_url: str, **overrides: Any) -> Settings:
    values = {"webhook_allow_private_addresses": True, "webhook_pause_after": 3} | overrides
    return make_settings(tmp_path, sqlite_url, **values)


async def idle_app(settings: Settings, clock: FakeClock) -> FastAPI:
    """The app without its background workers: the test drives fan-out and relay."""
    app = create_app(settings, clock=clock)
    await app.state.context.alerts.load_site(demo_site().to_site(), principal=STARTUP)
    await seed_demo_users(app.state.database, now=clock.now())
    return app


def admin_client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url="http://alertd.test")


async def drive(app: FastAPI) -> None:
    """One fan-out round, then one relay round."""
    await app.state.webhook_fanout.run_once()
    await app.state.relay.run_once()


async def raise_alert(client: httpx.AsyncClient, key: str, **body: Any) -> str:
    payload = {"kind": "lockdown", "school_id": "lincoln-hs"} | body
    answer = await client.post("/v1/alerts", json=payload, headers={"Idempotency-Key": key})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


async def attempts(client: httpx.AsyncClient, webhook_id: str) -> list[dict[str, Any]]:
    answer = await client.get(f"/v1/webhooks/{webhook_id}/attempts")
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()["attempts"]
    return found


async def test_deliveries_are_signed_retried_paused_and_redelivered(
    tmp_path: Path, sqlite_url: str, clock: FakeClock, receiver: WebhookReceiver
) -> None:
    app = await idle_app(hook_settings(tmp_path, sqlite_url), clock)
    async with admin_client(app) as client:
        client.headers.update(await headers_for(client, "district_admin"))
        await drive(app)  # the fan-out starts at the head of the log
        created = await client.post(
            "/v1/webhooks",
            json={
                "url": receiver.url,
                "event_types": ["AlertRaised", "AlertAcknowledged"],
                "description": "county CAD",
            },
        )
        assert created.status_code == 201, created.text
        hook = created.json()
        secret, webhook_id = hook["secret"], hook["id"]
        assert secret.startswith("whsec_") and hook["state"] == "active"
        listed = (await client.get("/v1/webhooks")).json()["webhooks"]
        assert [h["id"] for h in listed] == [webhook_id] and "secret" not in listed[0]

        # Delivered at once, signed; the body is the stream message of its type.
        alert_id = await raise_alert(client, "hook-1")
        await drive(app)
        (first,) = await receiver.wait_for(1)
        payload = Webhook(secret).verify(first.body, first.headers)
        assert payload["type"] == "AlertRaised"
        assert payload["data"]["alert_id"] == alert_id
        assert StreamContract().problems(payload["data"]) == []
        assert first.headers["webhook-id"] == f"msg_{payload['data']['id']}"

        # The endpoint fails: retried with backoff from the outbox, the same message each time.
        receiver.fail_next(5)
        dispatcher = await headers_for(client, "dispatcher")
        answer = await client.post(f"/v1/alerts/{alert_id}/acknowledge", headers=dispatcher)
        assert answer.status_code == 200
        await drive(app)
        await receiver.wait_for(2)
        await drive(app)
        assert len(receiver.received) == 2  # the retry is not due yet
        clock.advance(2.01)  # 1 s, plus up to 100 % jitter
        await drive(app)
        await receiver.wait_for(3)
        assert len(receiver.received) == 3
        clock.advance(4.01)  # 2 s, plus jitter
        await drive(app)
        await receiver.wait_for(4)
        retried = receiver.received[1:]
        assert {r.headers["webhook-id"] for r in retried} == {retried[0].headers["webhook-id"]}
        assert [r.answered for r in retried] == [503, 503, 503]
        for request in retried:
            assert Webhook(secret).verify(request.body, request.headers)["type"] == (
                "AlertAcknowledged"
            )

        # The third failure in a row paused it: nothing more is sent, the admins are told.
        paused = (await client.get(f"/v1/webhooks/{webhook_id}")).json()
        assert paused["state"] == "paused" and paused["consecutive_failures"] == 3
        assert paused["last_error"] == "HTTP 503"
        clock.advance(60)
        await drive(app)
        await raise_alert(client, "hook-2", kind="secure", school_id="jefferson-es")
        clock.advance(60)
        await drive(app)
        await asyncio.sleep(0.2)
        assert len(receiver.received) == 4
        log = await app.state.context.store.read_log(LogQuery(after=0, limit=1000))
        notices = [e.event for e in log if e.event.type.value == "WebhookPaused"]
        assert len(notices) == 1 and notices[0].data["subscription_id"] == webhook_id
        logged = await attempts(client, webhook_id)
        assert [a["outcome"] for a in logged] == ["failed", "failed", "failed", "delivered"]
        assert all(a["status_code"] == 503 for a in logged[:3])

        # An admin redelivers the failed message by hand: same webhook-id, logged as manual.
        receiver.fail_next(0)
        redelivered = await client.post(
            f"/v1/webhooks/{webhook_id}/attempts/{logged[0]['id']}/redeliver"
        )
        assert redelivered.status_code == 202, redelivered.text
        await drive(app)
        await receiver.wait_for(5)
        again = receiver.received[4]
        assert again.answered == 204
        assert again.headers["webhook-id"] == retried[0].headers["webhook-id"]
        assert Webhook(secret).verify(again.body, again.headers)["type"] == "AlertAcknowledged"
        newest = (await attempts(client, webhook_id))[0]
        assert (newest["outcome"], newest["manual"]) == ("delivered", True)

        # Resumed, it gets new events again.
        resumed = await client.patch(f"/v1/webhooks/{webhook_id}", json={"state": "active"})
        assert resumed.json()["state"] == "active" and resumed.json()["consecutive_failures"] == 0
        await raise_alert(client, "hook-3", kind="hold")
        await drive(app)
        await receiver.wait_for(6)
        assert Webhook(secret).verify(receiver.received[5].body, receiver.received[5].headers)


async def test_only_admins_manage_webhooks_each_within_their_schools(
    tmp_path: Path, sqlite_url: str, clock: FakeClock, receiver: WebhookReceiver
) -> None:
    app = await idle_app(hook_settings(tmp_path, sqlite_url), clock)
    async with admin_client(app) as client:
        district = await headers_for(client, "district_admin")
        school = await headers_for(client, "school_admin")
        body = {"url": receiver.url}
        for role in ("staff", "sro", "dispatcher", "drill_coordinator"):
            answer = await client.post(
                "/v1/webhooks", json=body, headers=await headers_for(client, role)
            )
            assert answer.status_code == 403, role
        mine = await client.post("/v1/webhooks", json=body, headers=school)
        assert mine.status_code == 201 and mine.json()["school_ids"] == ["lincoln-hs"]
        wider = await client.post(
            "/v1/webhooks", json=body | {"school_ids": ["jefferson-es"]}, headers=school
        )
        assert wider.status_code == 422 and wider.json()["field"] == "school_ids"
        unknown = await client.post(
            "/v1/webhooks", json=body | {"event_types": ["Nope"]}, headers=school
        )
        assert unknown.status_code == 422 and unknown.json()["field"] == "event_types"
        districts = await client.post("/v1/webhooks", json=body, headers=district)
        assert districts.json()["school_ids"] is None
        theirs = districts.json()["id"]
        assert (await client.get(f"/v1/webhooks/{theirs}", headers=school)).status_code == 404
        listed = (await client.get("/v1/webhooks", headers=school)).json()["webhooks"]
        assert [h["id"] for h in listed] == [mine.json()["id"]]
        assert (await client.get(f"/v1/webhooks/{theirs}", headers=district)).status_code == 200
        gone = await client.delete(f"/v1/webhooks/{mine.json()['id']}", headers=school)
        assert gone.status_code == 204


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://10.0.0.5/hook",
        "http://192.168.1.10/hook",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://no-such-host.invalid/hook",
    ],
)
async def test_a_url_inside_the_network_is_refused(client: httpx.AsyncClient, url: str) -> None:
    answer = await client.post("/v1/webhooks", json={"url": url})
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "url"
    assert (await client.get("/v1/webhooks")).json()["webhooks"] == []


async def test_the_address_is_checked_again_at_delivery(
    tmp_path: Path, sqlite_url: str, clock: FakeClock, receiver: WebhookReceiver
) -> None:
    """Subscribed while loopback was allowed; the instance that delivers does not allow it
    (as when a name is later pointed into the network): refused, logged, nothing sent."""
    allowing = await idle_app(hook_settings(tmp_path, sqlite_url), clock)
    async with admin_client(allowing) as client:
        client.headers.update(await headers_for(client, "district_admin"))
        await drive(allowing)
        created = await client.post("/v1/webhooks", json={"url": receiver.url})
        assert created.status_code == 201
        await raise_alert(client, "ssrf-1")
    strict = create_app(
        hook_settings(tmp_path, sqlite_url, webhook_allow_private_addresses=False), clock=clock
    )
    async with admin_client(strict) as client:
        client.headers.update(await headers_for(client, "district_admin"))
        await drive(strict)
        await asyncio.sleep(0.2)
        assert receiver.received == []
        (attempt,) = await attempts(client, created.json()["id"])
        assert attempt["outcome"] == "refused"
        assert "127.0.0.1" in attempt["error"] and "loopback" in attempt["error"]


class RebindingResolver:
    """A name that answers the receiver's address once, then another: a DNS-rebinding
    attacker's answers. (Nothing listens on 127.0.0.2 at the receiver's port.)"""

    def __init__(self) -> None:
        self.answers = [ipaddress.ip_address("127.0.0.1")]

    async def resolve(self, host: str, port: int) -> list[IpAddress]:
        if host != "hooks.vendor.test":
            raise OSError(f"{host}: unknown here")
        return [self.answers.pop(0) if self.answers else ipaddress.ip_address("127.0.0.2")]


async def test_a_delivery_goes_to_the_address_that_was_checked_not_to_a_second_lookup(
    tmp_path: Path,
    sqlite_url: str,
    clock: FakeClock,
    receiver: WebhookReceiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(webhook_wiring, "SystemResolver", RebindingResolver)
    app = await idle_app(hook_settings(tmp_path, sqlite_url), clock)
    port = receiver.url.split(":")[2].split("/")[0]
    async with admin_client(app) as client:
        client.headers.update(await headers_for(client, "district_admin"))
        await drive(app)  # the fan-out starts at the head of the log
        url = f"http://hooks.vendor.test:{port}/hooks/alertd"
        body = {"url": url, "event_types": ["AlertRaised"]}
        created = await client.post("/v1/webhooks", json=body)
        assert created.status_code == 201, created.text
        await raise_alert(client, "pinned-1")
        await drive(app)
        [delivered] = await receiver.wait_for(1)
        assert delivered.headers["host"] == f"hooks.vendor.test:{port}"  # the name, as sent
        [attempt] = await attempts(client, created.json()["id"])
        assert attempt["outcome"] == "delivered"
