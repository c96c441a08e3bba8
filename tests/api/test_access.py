"""Scope and special rules: what each person sees and may do, and the hardening around it."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
import websockets

from alertd.adapters.http.security import ConfigurationError
from alertd.main import create_app
from alertd.settings import Settings
from alertd.testing.auth import headers_for, token_for
from alertd.testing.clock import FakeClock

LINCOLN, ROOM = "lincoln-hs", "lincoln-hs-a-101"
JEFFERSON, JEFFERSON_ROOM = "jefferson-es", "jefferson-es-a-101"
_keys = iter(range(1_000_000))


async def raise_alert(
    client: httpx.AsyncClient,
    *,
    as_role: str = "district_admin",
    key: str | None = None,
    **body: object,
) -> httpx.Response:
    payload = {"kind": "medical", "school_id": LINCOLN, "room_id": ROOM} | body
    headers = await headers_for(client, as_role)
    headers["Idempotency-Key"] = key or f"k{next(_keys)}"
    return await client.post("/v1/alerts", json=payload, headers=headers)


async def test_a_dispatcher_cannot_see_stream_or_act_on_schools_outside_their_agency(
    anonymous: httpx.AsyncClient, live_url: str
) -> None:
    lincoln = (await raise_alert(anonymous)).json()["id"]
    jefferson = (await raise_alert(anonymous, school_id=JEFFERSON, room_id=JEFFERSON_ROOM)).json()
    outsider = await headers_for(anonymous, "dispatcher-jefferson")

    assert (await anonymous.get(f"/v1/alerts/{lincoln}", headers=outsider)).status_code == 404
    for action, body in (
        ("acknowledge", {}),
        ("cancel", {"reason": "x"}),
        ("notes", {"text": "x"}),
    ):
        answer = await anonymous.post(f"/v1/alerts/{lincoln}/{action}", json=body, headers=outsider)
        assert answer.status_code == 404, action  # not 403: its existence does not leak
    listed = (await anonymous.get("/v1/alerts", headers=outsider)).json()["alerts"]
    assert [a["id"] for a in listed] == [jefferson["id"]]
    asked = await anonymous.get("/v1/alerts", params={"school": LINCOLN}, headers=outsider)
    assert asked.json()["alerts"] == []
    assert (await anonymous.get(f"/v1/schools/{LINCOLN}", headers=outsider)).status_code == 404
    schools = (await anonymous.get("/v1/schools", headers=outsider)).json()["schools"]
    assert [s["id"] for s in schools] == [JEFFERSON]
    refused = await raise_alert(anonymous, as_role="dispatcher-jefferson")
    assert (refused.status_code, refused.json()["field"]) == (422, "school_id")

    # The stream, on a real server: only Jefferson's events arrive.
    async with httpx.AsyncClient(base_url=live_url) as http:
        token = await token_for(http, "dispatcher-jefferson")
        await raise_alert(http, key="live-lincoln")
        await raise_alert(http, key="live-jeff", school_id=JEFFERSON, room_id=JEFFERSON_ROOM)
    url = live_url.replace("http://", "ws://") + f"/v1/stream?since=0&access_token={token}"
    async with websockets.connect(url) as console:
        seen = []
        async with asyncio.timeout(5):
            while (message := json.loads(await console.recv()))["type"] != "caught_up":
                seen.append(message["school_id"])
    assert seen and set(seen) == {JEFFERSON}  # its alert, and the notices of its texts


async def test_staff_see_their_own_alerts_and_campus_wide_instructions_only(
    anonymous: httpx.AsyncClient,
) -> None:
    mine = (await raise_alert(anonymous, as_role="staff")).json()["id"]
    others = (await raise_alert(anonymous)).json()["id"]  # room-scoped, raised by the admin
    lockdown = (await raise_alert(anonymous, kind="lockdown")).json()["id"]
    staff = await headers_for(anonymous, "staff")
    listed = {a["id"] for a in (await anonymous.get("/v1/alerts", headers=staff)).json()["alerts"]}
    assert listed == {mine, lockdown}
    assert (await anonymous.get(f"/v1/alerts/{others}", headers=staff)).status_code == 404


async def test_the_raiser_may_cancel_within_30_seconds_and_responders_any_time(
    settings: Settings,
) -> None:
    clock = FakeClock()
    app = create_app(settings, clock=clock)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        staff = await headers_for(client, "staff")
        early = (await raise_alert(client, as_role="staff")).json()["id"]
        clock.advance(29)
        ok = await client.post(f"/v1/alerts/{early}/cancel", json={"reason": "oops"}, headers=staff)
        assert ok.status_code == 200
        late = (await raise_alert(client, as_role="staff", kind="fire")).json()["id"]
        clock.advance(31)
        refused = await client.post(
            f"/v1/alerts/{late}/cancel", json={"reason": "oops"}, headers=staff
        )
        assert refused.status_code == 403
        sro = await headers_for(client, "sro")
        done = await client.post(
            f"/v1/alerts/{late}/cancel", json={"reason": "false alarm"}, headers=sro
        )
        assert done.status_code == 200


async def test_a_repeat_press_joins_the_open_alert_and_is_never_refused(settings: Settings) -> None:
    clock = FakeClock()
    app = create_app(settings, clock=clock)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        first = await raise_alert(client, as_role="staff", key="press-1")
        clock.advance(5)
        presses = [
            await raise_alert(client, as_role="staff", key=f"press-{n}") for n in range(2, 12)
        ]
        assert first.status_code == 201
        assert {p.status_code for p in presses} == {200}
        assert {p.json()["id"] for p in presses} == {first.json()["id"]}
        other_kind = await raise_alert(client, as_role="staff", kind="fire")
        other_person = await raise_alert(client, as_role="sro")
        clock.advance(11)
        later = await raise_alert(client, as_role="staff", key="press-late")
    assert other_kind.status_code == other_person.status_code == later.status_code == 201
    assert (
        len(
            {
                first.json()["id"],
                other_kind.json()["id"],
                other_person.json()["id"],
                later.json()["id"],
            }
        )
        == 4
    )


async def test_a_repeat_press_joins_only_the_alert_of_its_own_room_kind_and_drill(
    settings: Settings,
) -> None:
    """Campus-wide presses (no room) repeat one another; a press for another room, or a
    real press beside a drill, opens an alert of its own, however many came before."""
    clock = FakeClock()
    app = create_app(settings, clock=clock)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        as_coordinator = {"as_role": "drill_coordinator", "kind": "lockdown"}
        campus = await raise_alert(client, **as_coordinator, room_id=None, drill=True)
        rooms = [
            await raise_alert(client, **as_coordinator, room_id=f"lincoln-hs-a-1{n:02}", drill=True)
            for n in range(1, 6)
        ]
        campus_again = await raise_alert(client, **as_coordinator, room_id=None, drill=True)
        room_again = await raise_alert(client, **as_coordinator, room_id=ROOM, drill=True)
        real = await raise_alert(client, **as_coordinator, room_id=ROOM)
    assert campus.status_code == 201 and {r.status_code for r in rooms} == {201}
    assert campus_again.status_code == 200 and campus_again.json()["id"] == campus.json()["id"]
    assert room_again.status_code == 200 and room_again.json()["id"] == rooms[0].json()["id"]
    assert real.status_code == 201 and real.json()["drill"] is False


async def test_only_coordinators_and_admins_run_drills(anonymous: httpx.AsyncClient) -> None:
    for role, status in (
        ("staff", 403),
        ("sro", 403),
        ("dispatcher", 403),
        ("drill_coordinator", 201),
        ("school_admin", 201),
    ):
        answer = await raise_alert(anonymous, as_role=role, drill=True, kind="lockdown")
        assert answer.status_code == status, role


async def test_answers_carry_security_headers(client: httpx.AsyncClient) -> None:
    answer = await client.get("/v1/schools")
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["x-frame-options"] == "DENY"
    assert "default-src 'none'" in answer.headers["content-security-policy"]
    assert answer.headers["cache-control"] == "no-store"


async def test_cors_allows_only_the_configured_origins(tmp_path: Path, sqlite_url: str) -> None:
    from alertd.testing.settings import make_settings

    app = create_app(make_settings(tmp_path, sqlite_url, cors_origins=["https://console.example"]))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        for origin, allowed in (("https://console.example", True), ("https://evil.example", False)):
            answer = await c.options(
                "/v1/alerts",
                headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
            )
            assert (answer.headers.get("access-control-allow-origin") == origin) is allowed


def test_outside_dev_mode_placeholder_secrets_are_refused(tmp_path: Path, sqlite_url: str) -> None:
    settings = Settings(data_dir=tmp_path, database_url=sqlite_url)  # dev_mode off, placeholder
    with pytest.raises(ConfigurationError, match="ALERTD_SECRET_KEY"):
        create_app(settings)
    create_app(Settings(data_dir=tmp_path, database_url=sqlite_url, secret_key="a-real-secret"))


async def test_errors_never_echo_the_credentials_sent(anonymous: httpx.AsyncClient) -> None:
    secret = "hunter2-very-secret"
    for answer in (
        await anonymous.post(
            "/v1/auth/token", data={"username": "staff@demo.alertd", "password": secret}
        ),
        await anonymous.get("/v1/alerts", headers={"Authorization": f"Bearer {secret}"}),
        await anonymous.get("/v1/alerts", headers={"X-API-Key": secret}),
    ):
        assert answer.status_code == 401
        assert secret not in answer.text
