"""Signing in, as a client sees it: tokens, refresh, back-off, TOTP, sessions, API keys."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pyotp
import pytest
import sqlalchemy as sa
import websockets
from websockets.exceptions import ConnectionClosed

from alertd.adapters.auth.tokens import TokenType, decode_token, issue_token
from alertd.core.errors import Unauthenticated
from alertd.core.login import MAX_WAIT_SECONDS, FailureRecord, seconds_to_wait
from alertd.settings import Settings

PASSWORD = "demo"
LINCOLN, JEFFERSON = "lincoln-hs", "jefferson-es"


@pytest.fixture
def client(anonymous: httpx.AsyncClient) -> httpx.AsyncClient:
    """These tests sign in themselves: start from a client that has not."""
    return anonymous


def demo(role: str) -> str:
    return f"{role}@demo.alertd"


async def login(
    client: httpx.AsyncClient, username: str, password: str = PASSWORD, **extra: str
) -> httpx.Response:
    return await client.post(
        "/v1/auth/token", data={"username": username, "password": password, **extra}
    )


async def bearer(client: httpx.AsyncClient, username: str) -> dict[str, str]:
    answer = await login(client, username)
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


async def school_ids(client: httpx.AsyncClient, **request: Any) -> list[str]:
    answer = await client.get("/v1/schools", **request)
    assert answer.status_code == 200, answer.text
    return sorted(s["id"] for s in answer.json()["schools"])


def table_rows(settings: Settings, query: str) -> list[sa.Row[Any]]:
    engine = sa.create_engine(settings.resolved_database_url())
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.text(query)))
    finally:
        engine.dispose()


# --- password login and bearer tokens ------------------------------------------------------


async def test_a_demo_user_signs_in_and_uses_the_bearer_token(client: httpx.AsyncClient) -> None:
    answer = await login(client, demo("dispatcher"))

    assert answer.status_code == 200
    body = answer.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] > 0 and body["refresh_token"]
    assert answer.headers["cache-control"] == "no-store"
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    assert await school_ids(client, headers=headers) == [JEFFERSON, LINCOLN]


async def test_a_dispatcher_sees_only_the_schools_its_agency_covers(
    client: httpx.AsyncClient,
) -> None:
    headers = await bearer(client, demo("dispatcher-jefferson"))
    assert await school_ids(client, headers=headers) == [JEFFERSON]


@pytest.mark.parametrize(
    ("username", "password"),
    [("dispatcher@demo.alertd", "hunter2-secret"), ("nobody@demo.alertd", "hunter2-secret")],
)
async def test_a_wrong_login_says_nothing_about_which_part_was_wrong(
    client: httpx.AsyncClient, username: str, password: str
) -> None:
    answer = await login(client, username, password)

    assert answer.status_code == 401
    assert answer.json()["error"] == "unauthenticated"
    assert answer.json()["message"] == "wrong username or password"
    assert password not in answer.text


async def test_requests_without_or_with_a_forged_token_are_refused(
    client: httpx.AsyncClient,
) -> None:
    assert (await client.get("/v1/schools")).status_code == 401
    forged = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkZW1vLWRpc3RyaWN0X2FkbWluIn0.c2lnbmF0dXJl"
    answer = await client.get("/v1/schools", headers={"Authorization": f"Bearer {forged}"})
    assert answer.status_code == 401
    assert forged not in answer.text


async def refused_within(client: httpx.AsyncClient, seconds: float, **request: Any) -> bool:
    """Whether GET /v1/schools is refused (401) within `seconds` (the issue's bound on how
    long a disabled account may go on working), asking every 0.1 s."""
    async with asyncio.timeout(seconds):
        while (await client.get("/v1/schools", **request)).status_code != 401:
            await asyncio.sleep(0.1)
    return True


async def test_a_disabled_user_is_refused_even_with_a_valid_token(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    """Disabled behind the app's back, in the database: refused within the 5 s bound."""
    headers = await bearer(client, demo("staff"))

    def disable() -> None:
        engine = sa.create_engine(settings.resolved_database_url())
        with engine.begin() as conn:
            disabling = "UPDATE users SET disabled = true WHERE email = 'staff@demo.alertd'"
            conn.execute(sa.text(disabling))
        engine.dispose()

    # In a thread: the app in this event loop may be mid-transaction, and waiting for the
    # write lock on the loop would stop it from ever committing.
    await asyncio.to_thread(disable)

    assert await refused_within(client, 5, headers=headers)
    assert (await login(client, demo("staff"))).status_code == 401


async def test_logins_and_failures_are_audited(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    await login(client, demo("sro"), "wrong-password")
    await login(client, demo("sro"))

    rows = table_rows(settings, "SELECT action, actor_id, detail FROM audit_log ORDER BY id")
    actions = [(r.action, r.actor_id) for r in rows]
    assert ("auth.login_failed", "demo-sro") in actions
    assert ("auth.login", "demo-sro") in actions
    assert all("wrong-password" not in str(r.detail) for r in rows)


# --- refresh tokens ------------------------------------------------------------------------


async def refresh(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post(
        "/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": token}
    )


async def test_a_refresh_token_is_single_use_and_reuse_revokes_the_family(
    client: httpx.AsyncClient,
) -> None:
    first = (await login(client, demo("sro"))).json()["refresh_token"]

    renewed = await refresh(client, first)
    assert renewed.status_code == 200
    second = renewed.json()["refresh_token"]
    assert second != first
    headers = {"Authorization": f"Bearer {renewed.json()['access_token']}"}
    assert await school_ids(client, headers=headers) == [LINCOLN]

    reused = await refresh(client, first)  # a copied token comes back
    assert reused.status_code == 401
    assert first not in reused.text
    assert (await refresh(client, second)).status_code == 401  # the whole family is gone


async def test_an_unknown_refresh_token_is_refused(client: httpx.AsyncClient) -> None:
    assert (await refresh(client, "made-up")).status_code == 401


# --- back-off ------------------------------------------------------------------------------


async def test_repeated_failures_put_the_username_in_back_off(client: httpx.AsyncClient) -> None:
    for _ in range(4):
        assert (await login(client, demo("staff"), "guess")).status_code == 401

    answer = await login(client, demo("staff"))  # even the right password waits

    assert answer.status_code == 429
    assert int(answer.headers["retry-after"]) >= 1
    assert answer.json()["error"] == "too_many_attempts"
    # Other users are not held up.
    assert (await login(client, demo("sro"))).status_code == 200


# --- the second factor ---------------------------------------------------------------------


async def test_once_enrolled_a_dispatcher_needs_a_totp_code(client: httpx.AsyncClient) -> None:
    headers = await bearer(client, demo("dispatcher"))
    enrolled = await client.post("/v1/auth/totp", headers=headers)
    assert enrolled.status_code == 200
    secret = enrolled.json()["secret"]
    assert enrolled.json()["otpauth_uri"].startswith("otpauth://totp/")
    code = pyotp.TOTP(secret).now()
    confirmed = await client.post("/v1/auth/totp/confirm", json={"code": code}, headers=headers)
    assert confirmed.status_code == 204

    without = await login(client, demo("dispatcher"))
    assert without.status_code == 401
    assert without.json()["field"] == "totp_code"
    wrong = await login(client, demo("dispatcher"), totp_code="000000" if code != "000000" else "1")
    assert wrong.status_code == 401
    # The confirming code is spent; the next 30 s step's code is within the drift allowed.
    spent = await login(client, demo("dispatcher"), totp_code=code)
    assert (spent.status_code, spent.json()["field"]) == (401, "totp_code")
    next_code = pyotp.TOTP(secret).at(datetime.now(UTC) + timedelta(seconds=30))
    with_code = await login(client, demo("dispatcher"), totp_code=next_code)
    assert with_code.status_code == 200
    reused = await login(client, demo("dispatcher"), totp_code=next_code)
    assert (reused.status_code, reused.json()["field"]) == (401, "totp_code")


async def test_staff_do_not_enrol_in_the_second_factor(client: httpx.AsyncClient) -> None:
    headers = await bearer(client, demo("staff"))
    assert (await client.post("/v1/auth/totp", headers=headers)).status_code == 403


# --- console sessions ----------------------------------------------------------------------


async def test_the_session_cookie_is_http_only_and_same_site_strict(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.post(
        "/v1/auth/session", json={"username": demo("dispatcher"), "password": PASSWORD}
    )

    assert answer.status_code == 200
    cookies = {c.split("=", 1)[0]: c for c in answer.headers.get_list("set-cookie")}
    session = cookies["alertd_session"].lower()
    assert "httponly" in session and "samesite=strict" in session
    assert "httponly" not in cookies["alertd_csrf"].lower()  # the console reads this one
    assert answer.json()["csrf_token"]
    assert await school_ids(client) == [JEFFERSON, LINCOLN]  # the cookie signs us in


async def test_an_unsafe_request_with_the_session_cookie_needs_the_csrf_token(
    client: httpx.AsyncClient,
) -> None:
    signed_in = await client.post(
        "/v1/auth/session", data={"username": demo("dispatcher"), "password": PASSWORD}
    )
    csrf = signed_in.json()["csrf_token"]

    refused = await client.post("/v1/auth/totp")
    assert refused.status_code == 403
    assert "csrf" in refused.json()["message"]
    wrong = await client.post("/v1/auth/totp", headers={"X-CSRF-Token": csrf + "x"})
    assert wrong.status_code == 403
    accepted = await client.post("/v1/auth/totp", headers={"X-CSRF-Token": csrf})
    assert accepted.status_code == 200


async def test_logout_clears_the_session(client: httpx.AsyncClient) -> None:
    await client.post("/v1/auth/session", json={"username": demo("sro"), "password": PASSWORD})
    assert (await client.post("/v1/auth/logout")).status_code == 204
    assert (await client.get("/v1/schools")).status_code == 401


# --- API keys and user management ----------------------------------------------------------


async def test_an_api_key_acts_as_its_user_and_is_stored_only_as_a_hash(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    admin = await bearer(client, demo("school_admin"))
    issued = await client.post(
        "/v1/users/demo-staff/api-keys", json={"name": "door panel"}, headers=admin
    )
    assert issued.status_code == 201
    key = issued.json()["key"]
    assert key.startswith("ak_")

    assert await school_ids(client, headers={"X-API-Key": key}) == [LINCOLN]
    for row in table_rows(settings, "SELECT * FROM api_keys"):
        assert key not in [str(value) for value in row]

    revoked = await client.delete(f"/v1/api-keys/{issued.json()['id']}", headers=admin)
    assert revoked.status_code == 204
    assert (await client.get("/v1/schools", headers={"X-API-Key": key})).status_code == 401


async def test_only_admins_manage_users_and_school_admins_only_their_schools(
    client: httpx.AsyncClient,
) -> None:
    staff = await bearer(client, demo("staff"))
    school_admin = await bearer(client, demo("school_admin"))
    new_user = {"email": "teacher@lincoln.example", "name": "T", "password": "long enough"}

    assert (await client.get("/v1/users", headers=staff)).status_code == 403
    as_staff = await client.post(
        "/v1/users", json={**new_user, "role": "staff", "school_ids": [LINCOLN]}, headers=staff
    )
    assert as_staff.status_code == 403
    other_school = await client.post(
        "/v1/users",
        json={**new_user, "role": "staff", "school_ids": [JEFFERSON]},
        headers=school_admin,
    )
    assert other_school.status_code == 404
    promote = await client.post(
        "/v1/users", json={**new_user, "role": "district_admin"}, headers=school_admin
    )
    assert promote.status_code == 403

    created = await client.post(
        "/v1/users",
        json={**new_user, "role": "staff", "school_ids": [LINCOLN]},
        headers=school_admin,
    )
    assert created.status_code == 201, created.text
    assert "long enough" not in created.text
    listed = (await client.get("/v1/users", headers=school_admin)).json()["users"]
    assert "teacher@lincoln.example" in [u["email"] for u in listed]
    assert "district_admin@demo.alertd" not in [u["email"] for u in listed]
    assert (await login(client, "Teacher@Lincoln.example", "long enough")).status_code == 200


# --- the stream ----------------------------------------------------------------------------


async def test_the_stream_takes_the_access_token_query_parameter(live_url: str) -> None:
    async with httpx.AsyncClient(base_url=live_url) as client:
        access = (await login(client, demo("sro"))).json()["access_token"]
    stream = live_url.replace("http://", "ws://") + "/v1/stream"

    async with websockets.connect(f"{stream}?access_token={access}") as socket_:
        try:
            async with asyncio.timeout(0.5):
                await socket_.recv()
        except TimeoutError:
            pass  # open and quiet: accepted

    async with websockets.connect(stream) as socket_:
        with pytest.raises(ConnectionClosed) as closed:
            async with asyncio.timeout(5):
                while True:
                    await socket_.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


def test_access_tokens_expire_on_the_app_clock() -> None:
    secret = "a-test-secret-that-is-long-enough-for-hs256"
    start = datetime(2030, 1, 1, tzinfo=UTC)
    token = issue_token(
        secret=secret,
        user_id="u",
        role="staff",
        token_type=TokenType.ACCESS,
        now=start,
        lifetime=timedelta(minutes=15),
    )

    claims = decode_token(token, secret=secret, token_type=TokenType.ACCESS, now=start)
    assert claims.user_id == "u"
    with pytest.raises(Unauthenticated):  # a bearer token is not a session cookie
        decode_token(token, secret=secret, token_type=TokenType.SESSION, now=start)
    with pytest.raises(Unauthenticated):
        decode_token(token, secret=secret, token_type=TokenType.ACCESS, now=claims.expires_at)


def test_back_off_starts_after_three_failures_and_is_capped() -> None:
    now = datetime(2030, 1, 1, tzinfo=UTC)

    def wait(count: int) -> int:
        return seconds_to_wait(FailureRecord(count=count, last_at=now), now=now)

    assert [wait(n) for n in (1, 2, 3, 4, 5, 6)] == [0, 0, 0, 2, 4, 8]
    assert wait(40) == MAX_WAIT_SECONDS
    later = now + timedelta(seconds=3)
    assert seconds_to_wait(FailureRecord(count=4, last_at=now), now=later) == 0
