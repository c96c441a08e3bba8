"""Cameras over WHEP: a real aiortc client watches the demo's test-pattern camera through
alertd; tokens, schools, malformed offers, the audit trail, and the shared source.

Every WebRTC test has a hard timeout and closes its peer connections in `finally`.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI

from alertd.app.cameras import CameraService
from alertd.settings import Settings
from alertd.testing.auth import headers_for
from alertd.testing.settings import make_settings
from alertd.testing.whep import WhepViewer

pytestmark = pytest.mark.timeout(60)

LINCOLN = "lincoln-hs"
CAM_1, CAM_2 = "lincoln-hs-a-1-cam-1", "lincoln-hs-a-1-cam-2"
ROOM_101, ROOM_109 = "lincoln-hs-a-101", "lincoln-hs-a-109"


@pytest.fixture
def settings(tmp_path, sqlite_url) -> Settings:  # type: ignore[no-untyped-def]
    return make_settings(tmp_path, sqlite_url, camera_linger_seconds=0.2)


def relay_of(app: FastAPI):  # type: ignore[no-untyped-def]
    cameras: CameraService = app.state.context.cameras
    return cameras._relay  # the relay's own counters: how often it opened the source


async def view_token(client: httpx.AsyncClient, role: str, camera: str = CAM_1) -> str:
    answer = await client.post(
        f"/v1/cameras/{camera}/view-token", headers=await headers_for(client, role)
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["token"])


async def test_the_demo_school_lists_its_cameras_nearest_the_room_first(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.get("/v1/cameras", params={"school_id": LINCOLN, "room_id": ROOM_109})
    assert answer.status_code == 200, answer.text
    cameras = answer.json()["cameras"]
    assert [c["id"] for c in cameras][:2] == [CAM_2, CAM_1]  # only cam 2 covers room 109
    assert cameras[0]["covers_room"] is True
    assert all(c["source_kind"] == "test-pattern" for c in cameras[:2])
    assert cameras[0]["whep_url"] == f"/v1/cameras/{CAM_2}/whep"
    openapi = (await client.get("/openapi.json")).json()
    assert "view_token_url" in openapi["paths"]["/v1/cameras"]["get"]["description"]


async def test_a_whep_client_receives_frames_and_the_view_is_audited(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    viewer = WhepViewer(client, f"/v1/cameras/{CAM_1}/whep", await view_token(client, "sro"))
    try:
        answer = await viewer.start()
        assert answer.status_code == 201, answer.text
        assert answer.headers["content-type"].startswith("application/sdp")
        assert answer.headers["location"].startswith(f"/v1/cameras/{CAM_1}/whep/")
        assert await viewer.wait_frames(10, timeout=30) >= 10
        listed = await client.get("/v1/cameras", params={"school_id": LINCOLN})
        mine = next(c for c in listed.json()["cameras"] if c["id"] == CAM_1)
        assert mine["viewers"] == 1 and mine["online"] is True
        ended = await client.delete(viewer.location or "")
        assert ended.status_code == 200
        assert (await client.delete(viewer.location or "")).status_code == 404
    finally:
        await viewer.close(delete=False)
    audit = (await client.get("/v1/audit", params={"limit": 50})).json()
    actions = [(e["action"], e["subject"], e["actor_id"]) for e in audit["entries"]]
    assert ("camera.view", CAM_1, "demo-sro") in actions
    assert ("camera.view_ended", CAM_1, "demo-sro") in actions


async def test_eight_viewers_share_one_source_opening(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    url = f"/v1/cameras/{CAM_2}/whep"
    tokens = [await view_token(client, "dispatcher", CAM_2) for _ in range(8)]
    viewers = [WhepViewer(client, url, token) for token in tokens]
    try:
        for viewer in viewers:
            assert (await viewer.start()).status_code == 201
        await asyncio.gather(*(v.wait_frames(5, timeout=45) for v in viewers))
        assert all(v.frames >= 5 for v in viewers)
        assert relay_of(app).viewers(CAM_2) == 8
        assert relay_of(app).source_opens(CAM_2) == 1
    finally:
        for viewer in viewers:
            await viewer.close()
    for _ in range(50):  # the source closes a little after the last viewer left
        if relay_of(app).online(CAM_2) is None:
            break
        await asyncio.sleep(0.1)
    assert relay_of(app).online(CAM_2) is None


@pytest.mark.parametrize(
    ("role", "camera", "status"),
    [("staff", CAM_1, 403), ("school_admin", CAM_1, 403), ("sro", CAM_1, 200)],
)
async def test_only_sros_and_dispatchers_get_view_tokens(
    client: httpx.AsyncClient, role: str, camera: str, status: int
) -> None:
    answer = await client.post(
        f"/v1/cameras/{camera}/view-token", headers=await headers_for(client, role)
    )
    assert answer.status_code == status, answer.text


async def test_refused_offers_leave_nothing_open(app: FastAPI, client: httpx.AsyncClient) -> None:
    relay = relay_of(app)
    good_token = await view_token(client, "sro")
    other_camera_token = await view_token(client, "sro", CAM_2)
    attempts = [
        ({"Authorization": "Bearer nonsense"}, "v=0\r\n", 401),
        ({}, "v=0\r\n", 401),
        ({"Authorization": f"Bearer {other_camera_token}"}, "v=0\r\n", 401),
        ({"Authorization": f"Bearer {await token_for_user(client)}"}, "v=0\r\n", 401),
        ({"Authorization": f"Bearer {good_token}"}, "this is not an SDP offer", 400),
        ({"Authorization": f"Bearer {good_token}"}, "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n", 400),
    ]
    for headers, body, status in attempts:
        answer = await client.post(
            f"/v1/cameras/{CAM_1}/whep",
            content=body,
            headers={"Content-Type": "application/sdp", **headers},
        )
        assert answer.status_code == status, (headers, body, answer.text)
        assert answer.json()["field"] in ("Authorization", "offer")
    assert relay.viewers(CAM_1) == 0 and relay.online(CAM_1) is None
    assert relay._sessions == {}


async def token_for_user(client: httpx.AsyncClient) -> str:
    """A sign-in access token: not a view token."""
    return (await headers_for(client, "sro"))["Authorization"].removeprefix("Bearer ")


async def test_another_schools_camera_is_hidden(client: httpx.AsyncClient) -> None:
    # Lincoln's SRO asks for a camera of another school: it does not exist for them.
    other = await client.put("/v1/cameras/no-such-camera/source", json={"url": "test-pattern:"})
    assert other.status_code == 404
    answer = await client.post(
        "/v1/cameras/no-such-camera/view-token", headers=await headers_for(client, "sro")
    )
    assert answer.status_code == 404


async def test_credentials_are_sealed_and_never_returned(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    body = {"url": "rtsp://10.1.2.3/stream1", "username": "viewer", "password": "hunter2-secret"}
    answer = await client.put(f"/v1/cameras/{CAM_1}/source", json=body)
    assert answer.status_code == 200, answer.text
    assert "hunter2" not in answer.text and answer.json()["has_credentials"] is True
    listed = await client.get("/v1/cameras", params={"school_id": LINCOLN})
    assert "hunter2" not in listed.text
    audit = await client.get("/v1/audit", params={"limit": 20})
    assert "hunter2" not in audit.text
    stored = await app.state.database.read(
        lambda c: c.exec_driver_sql("SELECT credentials FROM camera_sources").all()
    )
    assert stored and all("hunter2" not in (row[0] or "") for row in stored)
    refused = await client.put(
        f"/v1/cameras/{CAM_1}/source", json={"url": "rtsp://u:p@10.1.2.3/stream1"}
    )
    assert refused.status_code == 422 and refused.json()["field"] == "url"
