"""Account lifecycle through the admin API: what admins do to people, and what people notice.

Disabling and signing out are checked across two instances of alertd sharing one database
(as behind a load balancer): the other instance refuses within the 5 s the issue allows.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pyotp
import pytest
from fastapi import FastAPI

from alertd.main import create_app
from alertd.settings import Settings
from alertd.testing.auth import DEMO_PASSWORD, demo_user, headers_for
from alertd.testing.demo_rooms import room_for

LINCOLN, JEFFERSON = "lincoln-hs", "jefferson-es"
PASSWORD = "a long enough password"
REFUSED_WITHIN_SECONDS = 5  # the bound for a disabled user, on every instance


@pytest.fixture
async def other_instance(settings: Settings, app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A second alertd on the same database, with its own principal cache."""
    second = create_app(settings)
    async with (
        second.router.lifespan_context(second),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=second), base_url="http://b") as c,
    ):
        yield c


async def new_user(client: httpx.AsyncClient, admin: dict[str, str], **body: Any) -> str:
    payload = {
        "email": "teacher@lincoln.example",
        "name": "Terry Teacher",
        "role": "staff",
        "password": PASSWORD,
        "school_ids": [LINCOLN],
        **body,
    }
    answer = await client.post("/v1/users", json=payload, headers=admin)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


async def sign_in(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> str:
    answer = await client.post("/v1/auth/token", data={"username": email, "password": password})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


async def refused_within(client: httpx.AsyncClient, seconds: float, **request: Any) -> float:
    """Seconds until GET /v1/schools is refused (401); fails past `seconds`."""
    started = asyncio.get_running_loop().time()
    async with asyncio.timeout(seconds):
        while (await client.get("/v1/schools", **request)).status_code != 401:
            await asyncio.sleep(0.1)
    return asyncio.get_running_loop().time() - started


async def test_a_school_admin_creates_staff_who_sign_in_and_raise(
    anonymous: httpx.AsyncClient,
) -> None:
    admin = await headers_for(anonymous, "school_admin")
    await new_user(anonymous, admin)
    token = await sign_in(anonymous, "teacher@lincoln.example")
    raised = await anonymous.post(
        "/v1/alerts",
        json={"kind": "medical", "school_id": LINCOLN, "room_id": room_for(LINCOLN, 3)},
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "first-press"},
    )
    assert raised.status_code == 201, raised.text


async def test_disabling_ends_tokens_and_sessions_on_every_instance(
    anonymous: httpx.AsyncClient, other_instance: httpx.AsyncClient
) -> None:
    admin = await headers_for(anonymous, "school_admin")
    user_id = await new_user(anonymous, admin)
    bearer = {"Authorization": f"Bearer {await sign_in(other_instance, 'teacher@lincoln.example')}"}
    session = await other_instance.post(
        "/v1/auth/session", json={"username": "teacher@lincoln.example", "password": PASSWORD}
    )
    assert session.status_code == 200
    cookies = {"Cookie": "; ".join(f"{k}={v}" for k, v in other_instance.cookies.items())}
    other_instance.cookies.clear()
    assert (await other_instance.get("/v1/schools", headers=bearer)).status_code == 200
    assert (await other_instance.get("/v1/schools", headers=cookies)).status_code == 200

    disabled = await anonymous.post(f"/v1/users/{user_id}/disable", headers=admin)
    assert disabled.status_code == 200 and disabled.json()["disabled"] is True

    # The instance that disabled them refuses at once; the other within the bound.
    assert (await anonymous.get("/v1/schools", headers=bearer)).status_code == 401
    await refused_within(other_instance, REFUSED_WITHIN_SECONDS, headers=bearer)
    await refused_within(other_instance, REFUSED_WITHIN_SECONDS, headers=cookies)
    again = await other_instance.post(
        "/v1/auth/token", data={"username": "teacher@lincoln.example", "password": PASSWORD}
    )
    assert again.status_code == 401

    # Enabled again, they sign in anew; the old tokens stay dead.
    assert (await anonymous.post(f"/v1/users/{user_id}/enable", headers=admin)).status_code == 200
    fresh = await sign_in(anonymous, "teacher@lincoln.example")
    assert (await anonymous.get("/v1/schools", headers=bearer)).status_code == 401
    ok = await anonymous.get("/v1/schools", headers={"Authorization": f"Bearer {fresh}"})
    assert ok.status_code == 200


async def test_sign_out_everywhere_ends_every_session_and_refresh_token(
    anonymous: httpx.AsyncClient, other_instance: httpx.AsyncClient
) -> None:
    first = await anonymous.post(
        "/v1/auth/token", data={"username": demo_user("sro"), "password": DEMO_PASSWORD}
    )
    phone = {"Authorization": f"Bearer {first.json()['access_token']}"}
    laptop = {"Authorization": f"Bearer {await sign_in(other_instance, demo_user('sro'), 'demo')}"}
    assert (await other_instance.get("/v1/schools", headers=laptop)).status_code == 200

    out = await anonymous.post("/v1/auth/sign-out-everywhere", headers=phone)

    assert out.status_code == 204
    assert (await anonymous.get("/v1/schools", headers=phone)).status_code == 401
    await refused_within(other_instance, REFUSED_WITHIN_SECONDS, headers=laptop)
    refreshed = await anonymous.post(
        "/v1/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": first.json()["refresh_token"]},
    )
    assert refreshed.status_code == 401


async def test_an_admin_signs_someone_out_and_resets_their_second_factor(
    anonymous: httpx.AsyncClient,
) -> None:
    admin = await headers_for(anonymous, "district_admin")
    dispatcher = await headers_for(anonymous, "dispatcher")
    enrolled = (await anonymous.post("/v1/auth/totp", headers=dispatcher)).json()
    totp = pyotp.TOTP(enrolled["secret"])
    confirm = await anonymous.post(
        "/v1/auth/totp/confirm", json={"code": totp.now()}, headers=dispatcher
    )
    assert confirm.status_code == 204
    listed = (await anonymous.get("/v1/users", headers=admin)).json()["users"]
    assert next(u for u in listed if u["id"] == "demo-dispatcher")["second_factor"] is True

    assert (
        await anonymous.post("/v1/users/demo-dispatcher/sign-out", headers=admin)
    ).status_code == 204
    assert (await anonymous.get("/v1/schools", headers=dispatcher)).status_code == 401
    needs_code = await anonymous.post(
        "/v1/auth/token", data={"username": demo_user("dispatcher"), "password": "demo"}
    )
    assert needs_code.json()["field"] == "totp_code"

    reset = await anonymous.delete("/v1/users/demo-dispatcher/second-factor", headers=admin)
    assert reset.status_code == 200 and reset.json()["second_factor"] is False
    assert await sign_in(anonymous, demo_user("dispatcher"), "demo")


async def test_totp_secrets_are_sealed_at_rest(anonymous: httpx.AsyncClient, app: FastAPI) -> None:
    dispatcher = await headers_for(anonymous, "dispatcher")
    secret = (await anonymous.post("/v1/auth/totp", headers=dispatcher)).json()["secret"]
    code = pyotp.TOTP(secret).at(datetime.now(UTC) - timedelta(seconds=30))
    await anonymous.post("/v1/auth/totp/confirm", json={"code": code}, headers=dispatcher)

    def stored(conn: Any) -> list[str]:
        import sqlalchemy as sa

        rows = conn.execute(sa.text("SELECT totp_secret, totp_pending_secret FROM users"))
        return [str(v) for row in rows for v in row if v is not None]

    values = await app.state.database.read(stored)
    assert values and all(v.startswith("v1:") and secret not in v for v in values)


async def test_school_admins_change_roles_and_schools_only_within_their_scope(
    anonymous: httpx.AsyncClient,
) -> None:
    school_admin = await headers_for(anonymous, "school_admin")  # of Lincoln
    user_id = await new_user(anonymous, school_admin)

    promoted = await anonymous.patch(
        f"/v1/users/{user_id}",
        json={"role": "drill_coordinator", "school_ids": [LINCOLN]},
        headers=school_admin,
    )
    assert promoted.status_code == 200, promoted.text
    assert promoted.json()["role"] == "drill_coordinator"
    elsewhere = await anonymous.patch(
        f"/v1/users/{user_id}", json={"school_ids": [LINCOLN, JEFFERSON]}, headers=school_admin
    )
    assert elsewhere.status_code == 404  # Jefferson is not theirs: it does not exist to them
    to_district = await anonymous.patch(
        f"/v1/users/{user_id}", json={"role": "district_admin"}, headers=school_admin
    )
    assert to_district.status_code == 403
    shaped = await anonymous.patch(
        f"/v1/users/{user_id}", json={"role": "sro", "school_ids": []}, headers=school_admin
    )
    assert (shaped.status_code, shaped.json()["field"]) == (422, "school_ids")
    own = await anonymous.post("/v1/users/demo-school_admin/disable", headers=school_admin)
    assert own.status_code == 403
    dispatcher = await anonymous.get("/v1/users/demo-dispatcher", headers=school_admin)
    assert dispatcher.status_code == 404
    keys = await anonymous.post(
        f"/v1/users/{user_id}/api-keys", json={"name": "door panel"}, headers=school_admin
    )
    listed = (await anonymous.get("/v1/api-keys", headers=school_admin)).json()["api_keys"]
    assert [(k["id"], k["user_email"]) for k in listed] == [
        (keys.json()["id"], "teacher@lincoln.example")
    ]


async def test_staff_get_full_pages_of_the_alerts_they_may_see(
    anonymous: httpx.AsyncClient,
) -> None:
    """Regression: `limit` used to apply before the visibility filter, so staff got short
    pages when others had raised alerts they may not see."""
    admin = await headers_for(anonymous, "district_admin")
    staff = await headers_for(anonymous, "staff")
    for n in range(3):
        body = {"kind": "medical", "school_id": LINCOLN, "room_id": room_for(LINCOLN, n)}
        answer = await anonymous.post(
            "/v1/alerts", json=body, headers={**staff, "Idempotency-Key": f"mine-{n}"}
        )
        assert answer.status_code == 201
    for n in range(5):  # newer, room-scoped, raised by someone else: invisible to staff
        body = {"kind": "medical", "school_id": LINCOLN, "room_id": room_for(LINCOLN, 10 + n)}
        answer = await anonymous.post(
            "/v1/alerts", json=body, headers={**admin, "Idempotency-Key": f"theirs-{n}"}
        )
        assert answer.status_code == 201

    page = await anonymous.get("/v1/alerts", params={"limit": "3"}, headers=staff)

    assert len(page.json()["alerts"]) == 3
    assert {a["raised_by"]["id"] for a in page.json()["alerts"]} == {"demo-staff"}


async def test_site_loads_at_start_up_are_audited(anonymous: httpx.AsyncClient) -> None:
    admin = await headers_for(anonymous, "district_admin")
    entries = (await anonymous.get("/v1/audit", params={"limit": "50"}, headers=admin)).json()
    loads = [e for e in entries["entries"] if e["action"] == "site.load"]
    assert {(e["actor_id"], e["actor_role"], e["subject"]) for e in loads} == {
        ("system", "system", LINCOLN),
        ("system", "system", JEFFERSON),
    }
    verification = (await anonymous.get("/v1/audit/verification", headers=admin)).json()
    assert verification["ok"] is True and verification["entries"] >= len(loads)


async def test_a_phone_number_is_kept_in_e164_and_a_bad_one_is_named(
    anonymous: httpx.AsyncClient,
) -> None:
    admin = await headers_for(anonymous, "school_admin")
    user_id = await new_user(anonymous, admin, role="sro", phone="+1 555-555-0199")
    shown = await anonymous.get(f"/v1/users/{user_id}", headers=admin)
    assert shown.json()["phone"] == "+15555550199"
    bad = await anonymous.patch(f"/v1/users/{user_id}", json={"phone": "call me"}, headers=admin)
    assert bad.status_code == 422 and bad.json()["field"] == "phone", bad.text
    assert (await anonymous.get(f"/v1/users/{user_id}", headers=admin)).json()["phone"] == (
        "+15555550199"
    )
    cleared = await anonymous.patch(f"/v1/users/{user_id}", json={"phone": ""}, headers=admin)
    assert cleared.status_code == 200 and cleared.json()["phone"] is None, cleared.text
