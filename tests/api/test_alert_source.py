"""Who raised an alert, and from what: people state it, devices are what they are."""

from __future__ import annotations

from typing import Any

import httpx

LINCOLN, ROOM = "lincoln-hs", "lincoln-hs-a-109"


async def raise_from(client: httpx.AsyncClient, key: str, **extra: Any) -> httpx.Response:
    body = {"kind": "medical", "school_id": LINCOLN, "room_id": ROOM, **extra}
    return await client.post("/v1/alerts", json=body, headers={"Idempotency-Key": key})


async def test_an_alert_says_what_it_was_raised_from(client: httpx.AsyncClient) -> None:
    unsaid = await raise_from(client, "s-1")
    assert unsaid.json()["source"] == "api"
    stated = await raise_from(client, "s-2", source="console", kind="fire")
    assert stated.status_code == 201 and stated.json()["source"] == "console"
    detail = (await client.get(f"/v1/alerts/{stated.json()['id']}")).json()
    assert detail["timeline"][0]["alert"]["source"] == "console"


async def test_a_person_cannot_pose_as_a_wall_button(client: httpx.AsyncClient) -> None:
    answer = await raise_from(client, "s-3", source="wall_button")
    assert answer.status_code == 403
    assert "only a signed wall_button device" in answer.json()["message"]
