"""Sign in as the demo users (dev mode seeds one per role; the password is `demo`)."""

from __future__ import annotations

import httpx

DEMO_PASSWORD = "demo"  # documented demo credential, seeded in dev mode only


def demo_user(role: str) -> str:
    return f"{role}@demo.alertd"


async def token_for(client: httpx.AsyncClient, role: str) -> str:
    """A bearer token for the demo user of `role` (e.g. "dispatcher", "staff")."""
    answer = await client.post(
        "/v1/auth/token", data={"username": demo_user(role), "password": DEMO_PASSWORD}
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


async def headers_for(client: httpx.AsyncClient, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {await token_for(client, role)}"}
