"""Devices over HTTP: an admin registers a wall button, the button raises alerts by signing its
requests, and nobody without its secret can pose as it (forged, replayed or stale requests are
refused and raise nothing).

Most admins are injected as principals through a test-only authenticator (any school, any
role), added after the real ones; the first test signs in for real as the demo district admin.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from starlette.requests import HTTPConnection

from alertd.adapters.db import schema
from alertd.adapters.db.audit import read_audit
from alertd.adapters.http.deps import HttpContext
from alertd.app.ports import AlertFilter, LogQuery
from alertd.core.actor import Actor
from alertd.core.device_signature import SignedRequest
from alertd.core.notice import Notice, NoticeType
from alertd.core.permission import Principal, Role
from alertd.main import create_app
from alertd.settings import Settings
from alertd.testing.auth import headers_for
from alertd.testing.clock import FakeClock
from alertd.testing.device import signed_headers

LINCOLN, ROOM, OTHER_ROOM = "lincoln-hs", "lincoln-hs-a-101", "lincoln-hs-a-102"
JEFFERSON = "jefferson-es"
AS = "X-Test-As"  # which test principal is asking

PRINCIPALS = {
    "district_admin": Principal(
        Actor("u-district", "District Admin", role="district_admin"), Role.DISTRICT_ADMIN, None
    ),
    "lincoln_admin": Principal(
        Actor("u-lincoln", "Lincoln Admin", role="school_admin"),
        Role.SCHOOL_ADMIN,
        frozenset({LINCOLN}),
    ),
    "jefferson_admin": Principal(
        Actor("u-jefferson", "Jefferson Admin", role="school_admin"),
        Role.SCHOOL_ADMIN,
        frozenset({JEFFERSON}),
    ),
    "lincoln_staff": Principal(
        Actor("u-staff", "Lincoln Teacher", role="staff"), Role.STAFF, frozenset({LINCOLN})
    ),
}


async def as_test_principal(connection: HTTPConnection, _ctx: HttpContext) -> Principal | None:
    name = connection.headers.get(AS)
    return PRINCIPALS[name] if name else None


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 9, 1, 8, 0, tzinfo=UTC))


@pytest.fixture
async def app(settings: Settings, clock: FakeClock) -> AsyncIterator[FastAPI]:
    application = create_app(settings, clock=clock)
    ctx: HttpContext = application.state.context
    application.state.context = dataclasses.replace(
        ctx, authenticators=(*ctx.authenticators, as_test_principal)
    )
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
def client(anonymous: httpx.AsyncClient) -> httpx.AsyncClient:
    """Not signed in: every request here says who sends it (X-Test-As, a token or a device)."""
    return anonymous


async def alert_count(app: FastAPI) -> int:
    return len(await app.state.context.store.list_alerts(AlertFilter(limit=1000)))


async def register(
    client: httpx.AsyncClient, who: str = "lincoln_admin", **body: Any
) -> httpx.Response:
    payload = {"name": "Room 101 wall button", "kind": "wall_button", "school_id": LINCOLN}
    payload.update(body)
    return await client.post("/v1/devices", json=payload, headers={AS: who})


async def wall_button(client: httpx.AsyncClient, device_id: str = "btn-101") -> str:
    """Register a wall button in ROOM and return its secret."""
    answer = await register(client, id=device_id, room_id=ROOM)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["secret"])


class Device:
    """A device in a test: signs with `secret` at the app clock's time unless told otherwise."""

    def __init__(self, client: httpx.AsyncClient, clock: FakeClock, device_id: str, secret: str):
        self.client, self.clock, self.id, self.secret = client, clock, device_id, secret
        self.presses = 0

    async def press(
        self,
        *,
        kind: str = "lockdown",
        room_id: str | None = None,
        secret: str | None = None,
        at: datetime | None = None,
        nonce: str | None = None,
        tamper: bool = False,
        key: str | None = None,
    ) -> httpx.Response:
        payload: dict[str, Any] = {"kind": kind, "school_id": LINCOLN}
        if room_id is not None:
            payload["room_id"] = room_id
        body = json.dumps(payload).encode()
        headers = signed_headers(
            self.id,
            secret or self.secret,
            "POST",
            "/v1/alerts",
            body,
            at or self.clock.now(),
            nonce=nonce,
        )
        if tamper:  # signed one request, sends another
            body = body.replace(b"lockdown", b"medical")
        self.presses += 1
        key = key or f"press-{self.presses}"
        headers |= {"Content-Type": "application/json", "Idempotency-Key": key}
        return await self.client.post("/v1/alerts", content=body, headers=headers)


@pytest.fixture
async def button(client: httpx.AsyncClient, clock: FakeClock) -> Device:
    return Device(client, clock, "btn-101", await wall_button(client))


async def test_a_wall_button_raises_a_lockdown_for_its_room(app: FastAPI, button: Device) -> None:
    answer = await button.press()

    assert answer.status_code == 201, answer.text
    alert = answer.json()
    # The body was read to check the signature, and still parsed by the route.
    assert (alert["kind"], alert["school_id"], alert["room_id"]) == ("lockdown", LINCOLN, ROOM)
    assert alert["raised_by"]["id"] == "device:btn-101"
    assert alert["source"] == "wall_button"  # from its signed identity, not from the body
    assert await alert_count(app) == 1


async def test_a_signed_in_admin_registers_a_button_that_then_raises_alerts(
    app: FastAPI, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    admin = await headers_for(client, "district_admin")
    payload = {"name": "Gym button", "kind": "wall_button", "school_id": LINCOLN, "room_id": ROOM}
    registered = await client.post("/v1/devices", json=payload, headers=admin)
    assert registered.status_code == 201, registered.text
    device = registered.json()["device"]
    button = Device(client, clock, device["id"], registered.json()["secret"])

    answer = await button.press()

    assert answer.status_code == 201, answer.text
    assert answer.json()["room_id"] == ROOM
    assert await alert_count(app) == 1


async def test_a_wall_button_naming_its_own_room_is_accepted(button: Device) -> None:
    answer = await button.press(kind="medical", room_id=ROOM)
    assert answer.status_code == 201, answer.text
    assert answer.json()["room_id"] == ROOM


async def test_a_forged_signature_is_refused_and_raises_nothing(
    app: FastAPI, button: Device
) -> None:
    answer = await button.press(secret="not-the-secret-of-this-button")

    assert answer.status_code == 401
    assert answer.json()["error"] == "unauthenticated"
    assert await alert_count(app) == 0


async def test_a_body_changed_after_signing_is_refused(app: FastAPI, button: Device) -> None:
    answer = await button.press(tamper=True)
    assert answer.status_code == 401
    assert await alert_count(app) == 0


async def test_the_refusal_does_not_echo_the_signature(client: httpx.AsyncClient) -> None:
    await wall_button(client)
    body = b'{"kind": "lockdown", "school_id": "lincoln-hs"}'
    forged = "ab" * 32
    headers = {
        "X-Device-Id": "btn-101",
        "X-Device-Timestamp": str(int(datetime(2026, 9, 1, 8, 0, tzinfo=UTC).timestamp())),
        "X-Device-Nonce": "nonce-0001",
        "X-Device-Signature": forged,
        "Idempotency-Key": "k",
        "Content-Type": "application/json",
    }
    answer = await client.post("/v1/alerts", content=body, headers=headers)
    assert answer.status_code == 401
    assert forged not in answer.text


async def test_a_replayed_nonce_is_refused_and_raises_nothing_more(
    app: FastAPI, button: Device
) -> None:
    first = await button.press(nonce="nonce-replayed-1")
    assert first.status_code == 201, first.text

    replay = await button.press(nonce="nonce-replayed-1")

    assert replay.status_code == 401
    assert "nonce" in replay.json()["message"]
    assert await alert_count(app) == 1


async def test_a_stale_timestamp_is_refused_and_raises_nothing(
    app: FastAPI, button: Device, clock: FakeClock
) -> None:
    signed_at = clock.now()
    clock.advance(31)

    answer = await button.press(at=signed_at)

    assert answer.status_code == 401
    assert "clock" in answer.json()["message"]
    assert await alert_count(app) == 0


async def test_a_timestamp_from_the_future_is_refused(
    app: FastAPI, button: Device, clock: FakeClock
) -> None:
    ahead = FakeClock(clock.now())
    ahead.advance(31)
    answer = await button.press(at=ahead.now())
    assert answer.status_code == 401
    assert await alert_count(app) == 0


async def test_a_clock_30_seconds_off_is_tolerated(button: Device, clock: FakeClock) -> None:
    signed_at = clock.now()
    clock.advance(30)
    answer = await button.press(at=signed_at)
    assert answer.status_code == 201, answer.text


# --- presses a bridge kept through an outage: bound retries -------------------------------------

BUFFERED_NONCE = "nonce-kept-on-disk"
BOUND_KEY = f"btn-101.{BUFFERED_NONCE}"  # the bridge's key: device id, nonce


async def test_a_press_kept_through_a_two_hour_outage_raises_once_marked_with_its_delay(
    app: FastAPI, button: Device, clock: FakeClock
) -> None:
    pressed_at = clock.now()
    clock.advance(2 * 3600)

    first = await button.press(at=pressed_at, nonce=BUFFERED_NONCE, key=BOUND_KEY)
    replayed = await button.press(at=pressed_at, nonce=BUFFERED_NONCE, key=BOUND_KEY)

    assert first.status_code == 201, first.text
    assert replayed.status_code == 401, "its alert was raised: a replay, even with its key"
    assert await alert_count(app) == 1
    timeline = await app.state.context.store.timeline(first.json()["id"])
    assert timeline[0].event.data == {"pressed_at": pressed_at.isoformat(), "delay_seconds": 7200}


async def test_a_press_older_than_the_bridge_buffer_allows_is_refused(
    app: FastAPI, button: Device, clock: FakeClock, settings: Settings
) -> None:
    pressed_at = clock.now()
    clock.advance(settings.device_buffer_max_age_hours * 3600 + 1)
    answer = await button.press(at=pressed_at, nonce=BUFFERED_NONCE, key=BOUND_KEY)
    assert answer.status_code == 401
    assert await alert_count(app) == 0


async def test_a_late_press_whose_key_is_not_bound_to_its_nonce_is_refused(
    app: FastAPI, button: Device, clock: FakeClock
) -> None:
    """A captured old request sent with a new key would raise a second alert: refused."""
    pressed_at = clock.now()
    clock.advance(3600)
    answer = await button.press(at=pressed_at, nonce=BUFFERED_NONCE, key="btn-101.other-nonce")
    assert answer.status_code == 401
    assert await alert_count(app) == 0


async def test_a_replayed_press_with_a_new_key_raises_nothing_more(
    app: FastAPI, button: Device
) -> None:
    first = await button.press(nonce=BUFFERED_NONCE, key=BOUND_KEY)
    assert first.status_code == 201, first.text
    replay = await button.press(nonce=BUFFERED_NONCE, key="a-fresh-key-from-an-attacker")
    assert replay.status_code == 401
    assert await alert_count(app) == 1


async def test_a_press_whose_nonce_was_recorded_before_a_crash_still_raises_once(
    app: FastAPI, button: Device, clock: FakeClock
) -> None:
    """alertd recorded the nonce, then died before the alert committed; the bridge retries
    the same signed request, which must raise the alert rather than be refused as a replay."""
    body = json.dumps({"kind": "lockdown", "school_id": LINCOLN}).encode()
    headers = signed_headers(
        button.id, button.secret, "POST", "/v1/alerts", body, clock.now(), nonce=BUFFERED_NONCE
    )
    request = SignedRequest(
        device_id=button.id,
        method="POST",
        path="/v1/alerts",
        timestamp=int(headers["X-Device-Timestamp"]),
        nonce=BUFFERED_NONCE,
        body=body,
    )
    devices = app.state.context.devices
    await devices.authenticate(
        request, signature=headers["X-Device-Signature"], retry_key=BOUND_KEY
    )  # the first attempt got this far: the nonce is spent, no alert exists
    assert await alert_count(app) == 0

    retried = await button.press(nonce=BUFFERED_NONCE, key=BOUND_KEY)

    assert retried.status_code == 201, retried.text
    assert await alert_count(app) == 1


async def test_a_bound_key_does_not_excuse_a_stale_heartbeat(
    button: Device, clock: FakeClock
) -> None:
    """Only raising answers a repeat with what it did; a heartbeat replayed late would fake
    a silent device's health, so every other device request keeps the strict rule."""
    body = json.dumps({"interval_seconds": 60}).encode()
    signed_at = clock.now()
    clock.advance(3600)
    headers = signed_headers(
        button.id, button.secret, "POST", "/v1/devices/heartbeat", body, signed_at,
        nonce=BUFFERED_NONCE,
    )  # fmt: skip
    headers |= {"Content-Type": "application/json", "Idempotency-Key": BOUND_KEY}
    answer = await button.client.post("/v1/devices/heartbeat", content=body, headers=headers)
    assert answer.status_code == 401


async def test_a_device_supervised_from_registration_that_never_calls_in_is_reported_silent(
    app: FastAPI, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    supervised = await register(client, id="btn-quiet", room_id=ROOM, heartbeat_interval_seconds=60)
    unsupervised = await register(client, id="btn-other", room_id=ROOM)
    assert supervised.status_code == unsupervised.status_code == 201, supervised.text
    clock.advance(61)

    await app.state.context.supervision.run_once()

    log = await app.state.context.store.read_log(LogQuery(after=0, limit=1000))
    troubles = [(e.event.type, e.event.data["device_id"], e.event.data["reason"])
                for e in log if isinstance(e.event, Notice)]  # fmt: skip
    assert troubles == [(NoticeType.DEVICE_TROUBLE, "btn-quiet", "silent")]


async def test_a_heartbeat_interval_out_of_range_is_refused_naming_the_field(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    answer = await register(client, id="btn-bad", room_id=ROOM, heartbeat_interval_seconds=0)
    assert answer.status_code == 422
    assert answer.json()["field"] == "heartbeat_interval_seconds"
    assert await app.state.context.store.read_log(LogQuery(after=0, limit=10)) == []


async def test_a_wall_button_cannot_raise_for_another_room(app: FastAPI, button: Device) -> None:
    answer = await button.press(room_id=OTHER_ROOM)

    assert answer.status_code == 403
    assert await alert_count(app) == 0


async def test_an_unknown_device_is_refused(app: FastAPI, client: httpx.AsyncClient) -> None:
    impostor = Device(client, FakeClock(), "btn-999", "guessed")
    answer = await impostor.press()
    assert answer.status_code == 401
    assert await alert_count(app) == 0


async def test_incomplete_device_credentials_are_refused(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await wall_button(client)
    answer = await client.post(
        "/v1/alerts",
        json={"kind": "lockdown", "school_id": LINCOLN},
        headers={"X-Device-Id": "btn-101", "Idempotency-Key": "k"},
    )
    assert answer.status_code == 401
    assert await alert_count(app) == 0


async def test_a_rotated_secret_stays_valid_for_the_grace_period_only(
    client: httpx.AsyncClient, button: Device, clock: FakeClock
) -> None:
    old_secret = button.secret
    answer = await client.post("/v1/devices/btn-101/rotate", headers={AS: "lincoln_admin"})
    assert answer.status_code == 200, answer.text
    new_secret = answer.json()["secret"]
    assert new_secret != old_secret

    assert (await button.press(secret=new_secret)).status_code == 201
    clock.advance(23 * 3600)
    assert (await button.press(secret=old_secret)).status_code == 201

    clock.advance(3600 + 1)
    assert (await button.press(secret=old_secret)).status_code == 401
    assert (await button.press(secret=new_secret)).status_code == 201


async def test_a_disabled_device_is_refused(
    app: FastAPI, client: httpx.AsyncClient, button: Device
) -> None:
    answer = await client.delete("/v1/devices/btn-101", headers={AS: "lincoln_admin"})
    assert answer.status_code == 204

    assert (await button.press()).status_code == 401
    assert await alert_count(app) == 0


async def test_only_admins_of_the_school_manage_its_devices(client: httpx.AsyncClient) -> None:
    assert (await register(client, "lincoln_staff", room_id=ROOM)).status_code == 403
    assert (await register(client, "jefferson_admin", room_id=ROOM)).status_code == 404
    assert (await register(client, "district_admin", id="btn-d", room_id=ROOM)).status_code == 201

    await wall_button(client)
    other = {AS: "jefferson_admin"}
    assert (await client.get(f"/v1/devices?school={LINCOLN}", headers=other)).status_code == 404
    assert (await client.post("/v1/devices/btn-101/rotate", headers=other)).status_code == 404
    assert (await client.delete("/v1/devices/btn-101", headers=other)).status_code == 404
    staff = {AS: "lincoln_staff"}
    assert (await client.post("/v1/devices/btn-101/rotate", headers=staff)).status_code == 403


async def test_a_device_cannot_manage_devices(client: httpx.AsyncClient, button: Device) -> None:
    body = json.dumps({"name": "x", "kind": "kiosk", "school_id": LINCOLN}).encode()
    headers = signed_headers(
        button.id, button.secret, "POST", "/v1/devices", body, button.clock.now()
    )
    answer = await client.post(
        "/v1/devices", content=body, headers={**headers, "Content-Type": "application/json"}
    )
    assert answer.status_code == 403


async def test_a_wall_button_needs_a_room_of_its_school(client: httpx.AsyncClient) -> None:
    missing = await register(client)
    assert missing.status_code == 422
    assert missing.json()["field"] == "room_id"
    elsewhere = await register(client, "district_admin", room_id="jefferson-es-a-101")
    assert elsewhere.status_code == 422
    assert elsewhere.json()["field"] == "room_id"


async def test_a_device_id_is_taken_once(client: httpx.AsyncClient) -> None:
    await wall_button(client)
    again = await register(client, id="btn-101", room_id=ROOM)
    assert again.status_code == 422
    assert again.json()["field"] == "id"


async def test_the_secret_is_shown_once(client: httpx.AsyncClient, button: Device) -> None:
    answer = await client.get(f"/v1/devices?school={LINCOLN}", headers={AS: "lincoln_admin"})
    assert answer.status_code == 200
    assert [d["id"] for d in answer.json()["devices"]] == ["btn-101"]
    assert button.secret not in answer.text
    assert "secret" not in answer.json()["devices"][0]


async def test_no_secret_is_stored(app: FastAPI, button: Device) -> None:
    def device_rows(conn: sa.Connection) -> list[Any]:
        return [list(row) for row in conn.execute(sa.select(schema.devices))]

    rows = await app.state.database.read(device_rows)
    assert rows and all(button.secret not in str(value) for row in rows for value in row)


async def test_every_device_change_is_audited(
    app: FastAPI, client: httpx.AsyncClient, button: Device
) -> None:
    admin = {AS: "lincoln_admin"}
    await client.post("/v1/devices/btn-101/rotate", headers=admin)
    await client.delete("/v1/devices/btn-101", headers=admin)

    records = await app.state.database.read(lambda conn: read_audit(conn, limit=1000))
    device_entries = [r.entry for r in records if r.entry.action.startswith("device.")]
    assert [e.action for e in device_entries] == [
        "device.create",
        "device.rotate_secret",
        "device.disable",
    ]
    assert {e.actor_id for e in device_entries} == {"u-lincoln"}
    assert all(button.secret not in json.dumps(dict(e.detail)) for e in device_entries)


async def test_a_badge_raises_where_its_wearer_says(
    app: FastAPI, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    def add_wearer(conn: sa.Connection) -> None:
        conn.execute(
            sa.insert(schema.users).values(
                id="u-wearer",
                email="wearer@lincoln.test",
                name="Wearer",
                role="staff",
                password_hash="x",
                created_at=clock.now(),
            )
        )
        conn.execute(sa.insert(schema.user_schools).values(user_id="u-wearer", school_id=LINCOLN))

    async with app.state.database.write() as session:
        await session.run(add_wearer)
    assert (await register(client, name="Badge", kind="badge")).json()["field"] == "user_id"
    answer = await register(client, id="badge-1", name="Badge", kind="badge", user_id="u-wearer")
    assert answer.status_code == 201, answer.text
    badge = Device(client, clock, "badge-1", answer.json()["secret"])

    raised = await badge.press(kind="staff_assist", room_id=OTHER_ROOM)

    assert raised.status_code == 201, raised.text
    assert raised.json()["room_id"] == OTHER_ROOM
