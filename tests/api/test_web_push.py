"""Web Push: a lockdown reaches a subscribed browser as an RFC 8291 message, signed with VAPID
(RFC 8292), through the outbox; a push service that answers 410 loses the subscription.

The push service is a real HTTP server on loopback, built here: it keeps what it is sent and
answers as the test tells it. The browser's keys are made here too, so the test decrypts the
message exactly as the browser would.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI, Request, Response

from alertd.adapters.db import migrate
from alertd.adapters.push.encryption import b64url_decode, b64url_encode, decrypt, public_bytes
from alertd.core.actor import Actor, ActorKind
from alertd.core.errors import ValidationFailed
from alertd.core.permission import Principal, Role
from alertd.main import create_app
from alertd.testing.auth import headers_for
from alertd.testing.live import serving
from alertd.testing.settings import make_settings


@dataclass
class PushService:
    """A loopback push service: records each request; answers 201, or 410 for gone ones."""

    url: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)
    gone: set[str] = field(default_factory=set)

    def app(self) -> FastAPI:
        service = FastAPI()

        @service.post("/push/{token}")
        async def push(token: str, request: Request) -> Response:
            self.received.append(
                {"token": token, "headers": dict(request.headers), "body": await request.body()}
            )
            if token in self.gone:
                return Response(status_code=410)
            return Response(status_code=201, headers={"Location": f"/message/{len(self.received)}"})

        return service

    async def wait_for(self, count: int) -> list[dict[str, Any]]:
        async with asyncio.timeout(10):
            while len(self.received) < count:
                await asyncio.sleep(0.05)
        return self.received


@dataclass
class Browser:
    """A browser's push keys, as PushManager.subscribe() makes them."""

    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    auth: bytes = field(default_factory=lambda: os.urandom(16))

    def subscription(self, endpoint: str) -> dict[str, Any]:
        return {
            "endpoint": endpoint,
            "expirationTime": None,
            "keys": {
                "p256dh": b64url_encode(public_bytes(self.key.public_key())),
                "auth": b64url_encode(self.auth),
            },
        }

    def read(self, body: bytes) -> dict[str, Any]:
        return dict(json.loads(decrypt(body, private_key=self.key, auth=self.auth)))


@pytest.fixture
async def push_service() -> AsyncIterator[PushService]:
    service = PushService()
    async with serving(service.app()) as url:
        service.url = url
        yield service


async def raise_alert(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    payload = {"school_id": "lincoln-hs", **body}
    key = base64.urlsafe_b64encode(os.urandom(12)).decode()
    answer = await client.post("/v1/alerts", json=payload, headers={"Idempotency-Key": key})
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def test_a_lockdown_reaches_a_subscribed_phone_encrypted_and_signed(
    client: httpx.AsyncClient, push_service: PushService
) -> None:
    teacher = Browser()
    staff = await headers_for(client, "staff")
    endpoint = f"{push_service.url}/push/teacher-phone"
    answer = await client.put(
        "/v1/push/subscriptions/phone-1", json=teacher.subscription(endpoint), headers=staff
    )
    assert answer.status_code == 200, answer.text
    server_key = (await client.get("/v1/push/key", headers=staff)).json()["public_key"]

    lockdown = await raise_alert(client, kind="lockdown")
    (push,) = await push_service.wait_for(1)

    headers = push["headers"]
    assert headers["content-encoding"] == "aes128gcm"
    assert headers["urgency"] == "high"
    assert int(headers["ttl"]) > 0
    scheme, _, credentials = headers["authorization"].partition(" ")
    fields = dict(part.strip().split("=", 1) for part in credentials.split(","))
    assert scheme == "vapid" and fields["k"] == server_key
    verifying = ec.EllipticCurvePublicKey.from_encoded_point(
        ec.SECP256R1(), b64url_decode(fields["k"])
    )
    claims = jwt.decode(fields["t"], verifying, algorithms=["ES256"], audience=push_service.url)
    assert claims["sub"].startswith("mailto:")

    message = teacher.read(push["body"])
    assert message["alert_id"] == lockdown["id"]
    assert (message["kind"], message["event"], message["drill"]) == (
        "lockdown",
        "AlertRaised",
        False,
    )
    assert message["title"] == "LOCKDOWN"
    assert message["body"].startswith("Locks, lights, out of sight.")
    assert "Lincoln High School" in message["body"]

    # On record like a text: the ledger names the person and the device, and says sent
    # (once the relay has settled the attempt, just after the push service answered).
    async with asyncio.timeout(10):
        while True:
            detail = (await client.get(f"/v1/alerts/{lockdown['id']}")).json()
            pushes = [d for d in detail["deliveries"] if d["channel"] == "push"]
            if pushes and pushes[0]["state"] != "queued":
                break
            await asyncio.sleep(0.05)
    assert [(d["recipient_name"], d["state"]) for d in pushes] == [("Sam Staff", "sent")]


async def test_room_alerts_push_to_sros_only_and_notes_never_leave(
    client: httpx.AsyncClient, push_service: PushService
) -> None:
    officer, teacher = Browser(), Browser()
    for role, browser, token in (("sro", officer, "sro"), ("staff", teacher, "staff")):
        subscription = browser.subscription(f"{push_service.url}/push/{token}")
        headers = await headers_for(client, role)
        answer = await client.put("/v1/push/subscriptions/d1", json=subscription, headers=headers)
        assert answer.status_code == 200, answer.text

    await raise_alert(client, kind="medical", room_id="lincoln-hs-a-109", note="Jamie Doe, asthma")
    (push,) = await push_service.wait_for(1)
    await asyncio.sleep(0.5)  # the relay has run: nothing else is on its way
    assert [p["token"] for p in push_service.received] == ["sro"]
    message = officer.read(push["body"])
    assert message["kind"] == "medical" and message["room_id"] == "lincoln-hs-a-109"
    assert "Jamie" not in json.dumps(message)


async def test_a_subscription_the_push_service_calls_gone_is_removed(
    client: httpx.AsyncClient, push_service: PushService
) -> None:
    staff = await headers_for(client, "staff")
    push_service.gone.add("old-phone")
    subscription = Browser().subscription(f"{push_service.url}/push/old-phone")
    answer = await client.put("/v1/push/subscriptions/old", json=subscription, headers=staff)
    assert answer.status_code == 200

    alert = await raise_alert(client, kind="secure")
    await push_service.wait_for(1)
    async with asyncio.timeout(10):
        while True:
            detail = (await client.get(f"/v1/alerts/{alert['id']}")).json()
            (delivery,) = [d for d in detail["deliveries"] if d["channel"] == "push"]
            if delivery["state"] == "failed":
                break
            await asyncio.sleep(0.05)
    assert "410" in delivery["error"]
    gone = await client.delete("/v1/push/subscriptions/old", headers=staff)
    assert gone.status_code == 404  # already removed when the push service said 410

    await raise_alert(client, kind="hold")
    await asyncio.sleep(0.5)
    assert len(push_service.received) == 1  # nothing more went to the gone subscription


async def test_a_malformed_subscription_is_refused_naming_the_field(
    client: httpx.AsyncClient,
) -> None:
    staff = await headers_for(client, "staff")
    subscription = Browser().subscription("https://push.example/abc")
    subscription["keys"]["p256dh"] = b64url_encode(b"\x04" + b"\x00" * 10)
    answer = await client.put("/v1/push/subscriptions/p", json=subscription, headers=staff)
    assert answer.status_code == 422
    assert answer.json()["field"] == "p256dh"
    assert (await client.delete("/v1/push/subscriptions/p", headers=staff)).status_code == 404


async def test_outside_dev_mode_only_https_push_services_are_accepted(
    tmp_path: Any, sqlite_url: str
) -> None:
    migrate.upgrade(sqlite_url)
    settings = make_settings(tmp_path, sqlite_url)
    production = settings.model_copy(update={"dev_mode": False})
    app = create_app(production)
    async with app.router.lifespan_context(app):
        push = app.state.context.push

        teacher = Principal(
            Actor("u1", "Sam Staff", ActorKind.USER, "staff"), Role.STAFF, frozenset({"lincoln-hs"})
        )
        keys = Browser().subscription("")["keys"]
        with pytest.raises(ValidationFailed) as refused:
            await push.subscribe(
                teacher, device_id="d", endpoint="http://10.0.0.5/internal", **keys
            )
        assert refused.value.field == "endpoint"
        saved = await push.subscribe(
            teacher, device_id="d", endpoint="https://push.example/send/1", **keys
        )
        assert saved.endpoint == "https://push.example/send/1"


async def test_the_apps_are_served_with_their_own_policy(client: httpx.AsyncClient) -> None:
    for path in ("/app/", "/sro/", "/app/sw.js", "/clients-common/auth.js"):
        answer = await client.get(path)
        assert answer.status_code == 200, path
        policy = answer.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "worker-src 'self'" in policy, path
        assert "unsafe-inline" not in policy
    manifest = await client.get("/app/manifest.webmanifest")
    assert manifest.headers["content-type"].startswith("application/manifest+json")
    assert manifest.json()["start_url"] == "/app/"
