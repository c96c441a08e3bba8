"""Single sign-on through a real OpenID Connect provider on loopback (authlib's server parts):
the browser's whole round trip, as a district would run it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from alertd.testing.auth import headers_for
from alertd.testing.oidc_provider import OidcTestProvider, oidc_provider

DISTRICT, LINCOLN, JEFFERSON = "riverside-usd", "lincoln-hs", "jefferson-es"
DOMAIN = "riverside.example.org"
CLIENT_ID, CLIENT_SECRET = "alertd-riverside", "provider-issued-secret"


@pytest.fixture
async def provider() -> AsyncIterator[OidcTestProvider]:
    async with oidc_provider(client_id=CLIENT_ID, client_secret=CLIENT_SECRET) as running:
        yield running


async def configure(
    admin: httpx.AsyncClient, provider: OidcTestProvider, **overrides: Any
) -> httpx.Response:
    body = {
        "issuer": provider.issuer,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "allowed_domains": [DOMAIN],
        "create_accounts": True,
        "display_name": "Riverside Google",
        "rules": [
            {"claim": "groups", "value": "lincoln-sros", "role": "sro", "school_ids": [LINCOLN]},
            {
                "claim": "groups",
                "value": "coordinators",
                "role": "drill_coordinator",
                "school_ids": [LINCOLN, JEFFERSON],
            },
        ],
        **overrides,
    }
    answer = await admin.put(f"/v1/districts/{DISTRICT}/oidc", json=body)
    assert answer.status_code == 200, answer.text
    return answer


async def sign_on(
    browser: httpx.AsyncClient, provider: OidcTestProvider, email: str
) -> httpx.Response:
    """The browser's round trip: alertd → provider → alertd's callback. Returns the
    callback's answer."""
    provider.sign_in_as(email)
    start = await browser.get(f"/v1/auth/oidc/{DISTRICT}/login", params={"next": "/console/"})
    assert start.status_code == 303, start.text
    authorize = start.headers["location"]
    assert authorize.startswith(provider.issuer) and "code_challenge=" in authorize
    assert "nonce=" in authorize and "state=" in authorize
    async with httpx.AsyncClient() as to_provider:
        approved = await to_provider.get(authorize)
    assert approved.status_code == 302, approved.text
    back = approved.headers["location"]
    assert back.startswith("http://alertd.test/v1/auth/oidc/callback?")
    return await browser.get(back)


@pytest.fixture
async def browser(anonymous: httpx.AsyncClient) -> httpx.AsyncClient:
    return anonymous


@pytest.fixture
async def admin(anonymous: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    transport = anonymous._transport
    async with httpx.AsyncClient(transport=transport, base_url=anonymous.base_url) as client:
        client.headers.update(await headers_for(client, "district_admin"))
        yield client


async def test_a_mapped_person_signs_on_with_the_role_and_schools_of_the_rule(
    browser: httpx.AsyncClient, admin: httpx.AsyncClient, provider: OidcTestProvider
) -> None:
    await configure(admin, provider)
    provider.add_person(email=f"dana@{DOMAIN}", groups=["staff", "coordinators"], name="Dana")

    landed = await sign_on(browser, provider, f"dana@{DOMAIN}")

    assert landed.status_code == 303, landed.text
    assert landed.headers["location"] == "/console/"
    cookies = {c.split("=", 1)[0]: c for c in landed.headers.get_list("set-cookie")}
    assert "httponly" in cookies["alertd_session"].lower()
    assert "samesite=strict" in cookies["alertd_session"].lower()
    assert "alertd_csrf" in cookies
    schools = (await browser.get("/v1/schools")).json()["schools"]
    assert sorted(s["id"] for s in schools) == [JEFFERSON, LINCOLN]
    users = (await admin.get("/v1/users")).json()["users"]
    dana = next(u for u in users if u["email"] == f"dana@{DOMAIN}")
    assert (dana["role"], dana["school_ids"], dana["source"]) == (
        "drill_coordinator",
        [JEFFERSON, LINCOLN],
        "sso",
    )
    # The console's CSRF protection holds for a session opened by single sign-on too.
    csrf = browser.cookies["alertd_csrf"]
    drill = {"kind": "lockdown", "school_id": LINCOLN, "drill": True}
    refused = await browser.post("/v1/alerts", json=drill, headers={"Idempotency-Key": "sso-1"})
    assert refused.status_code == 403
    raised = await browser.post(
        "/v1/alerts", json=drill, headers={"Idempotency-Key": "sso-1", "X-CSRF-Token": csrf}
    )
    assert raised.status_code == 201, raised.text


async def test_a_person_outside_the_allowed_domains_is_refused(
    browser: httpx.AsyncClient, admin: httpx.AsyncClient, provider: OidcTestProvider
) -> None:
    await configure(admin, provider)
    provider.add_person(email="eve@elsewhere.example.com", groups=["coordinators"])

    refused = await sign_on(browser, provider, "eve@elsewhere.example.com")

    assert refused.status_code == 401
    assert "elsewhere.example.com" in refused.json()["message"]
    assert "alertd_session" not in browser.cookies
    emails = [u["email"] for u in (await admin.get("/v1/users")).json()["users"]]
    assert "eve@elsewhere.example.com" not in emails


async def test_a_tampered_id_token_is_refused(
    browser: httpx.AsyncClient, admin: httpx.AsyncClient, provider: OidcTestProvider
) -> None:
    await configure(admin, provider)
    provider.add_person(email=f"sam@{DOMAIN}", groups=["lincoln-sros"])
    provider.tamper_next_id_token()

    refused = await sign_on(browser, provider, f"sam@{DOMAIN}")

    assert refused.status_code == 401
    assert "alertd_session" not in browser.cookies
    assert (await browser.get("/v1/schools")).status_code == 401


async def test_unknown_people_get_no_account_unless_the_district_says_so(
    browser: httpx.AsyncClient, admin: httpx.AsyncClient, provider: OidcTestProvider
) -> None:
    await configure(admin, provider, create_accounts=False)
    provider.add_person(email=f"new@{DOMAIN}", groups=["lincoln-sros"])
    assert (await sign_on(browser, provider, f"new@{DOMAIN}")).status_code == 401

    # A person who has an account (made by an admin) signs on to it, whatever the groups.
    made = await admin.post(
        "/v1/users",
        json={
            "email": f"pat@{DOMAIN}",
            "name": "Pat",
            "role": "staff",
            "password": "a long password",
            "school_ids": [LINCOLN],
        },
    )
    assert made.status_code == 201, made.text
    provider.add_person(email=f"pat@{DOMAIN}", groups=[])
    assert (await sign_on(browser, provider, f"pat@{DOMAIN}")).status_code == 303
    assert [s["id"] for s in (await browser.get("/v1/schools")).json()["schools"]] == [LINCOLN]


async def test_the_configuration_never_shows_the_client_secret(
    admin: httpx.AsyncClient, provider: OidcTestProvider, anonymous: httpx.AsyncClient
) -> None:
    await configure(admin, provider)
    shown = await admin.get(f"/v1/districts/{DISTRICT}/oidc")
    assert shown.status_code == 200
    assert CLIENT_SECRET not in shown.text
    assert shown.json()["redirect_uri"] == "http://alertd.test/v1/auth/oidc/callback"
    options = (await anonymous.get("/v1/auth/oidc")).json()["providers"]
    assert options == [
        {
            "district_id": DISTRICT,
            "display_name": "Riverside Google",
            "login_url": f"/v1/auth/oidc/{DISTRICT}/login",
        }
    ]
