"""An RTSP camera (GStreamer's RTSP server, started here) watched over WHEP: its H.264 is
passed through, not re-encoded; stopping it mid-view produces CameraOffline."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI

from alertd.app.ports import LogQuery
from alertd.settings import Settings
from alertd.testing.auth import headers_for
from alertd.testing.rtsp_server import RtspServer, rtsp_server, rtsp_server_available
from alertd.testing.settings import make_settings
from alertd.testing.whep import WhepViewer

pytestmark = [
    pytest.mark.integration,
    pytest.mark.timeout(90),
    pytest.mark.skipif(not rtsp_server_available(), reason="./dev installs GStreamer"),
]
CAMERA = "lincoln-hs-a-1-cam-1"


@pytest.fixture
def settings(tmp_path, sqlite_url) -> Settings:  # type: ignore[no-untyped-def]
    return make_settings(tmp_path, sqlite_url, camera_stall_seconds=2.0, camera_linger_seconds=0.2)


@pytest.fixture
def camera_server() -> Iterator[RtspServer]:
    with rtsp_server() as server:
        yield server


async def test_rtsp_h264_is_passed_through_and_a_stop_is_reported(
    app: FastAPI, client: httpx.AsyncClient, camera_server: RtspServer
) -> None:
    registered = await client.put(f"/v1/cameras/{CAMERA}/source", json={"url": camera_server.url})
    assert registered.status_code == 200, registered.text
    assert registered.json()["source_kind"] == "rtsp"
    token = (
        await client.post(
            f"/v1/cameras/{CAMERA}/view-token", headers=await headers_for(client, "dispatcher")
        )
    ).json()["token"]
    viewer = WhepViewer(client, f"/v1/cameras/{CAMERA}/whep", token)
    try:
        answer = await viewer.start()
        assert answer.status_code == 201, answer.text
        codecs = [line for line in answer.text.splitlines() if line.startswith("a=rtpmap:")]
        assert codecs and all(("H264" in c) or ("rtx" in c) for c in codecs), codecs
        assert await viewer.wait_frames(15, timeout=30) >= 15
        audit = (await client.get("/v1/audit", params={"limit": 20})).json()["entries"]
        view = next(e for e in audit if e["action"] == "camera.view")
        assert view["detail"]["passthrough"] is True

        camera_server.stop()  # the camera goes away mid-view
        store = app.state.context.store
        offline = []
        for _ in range(100):
            log = await store.read_log(LogQuery(after=0, limit=1000))
            offline = [e for e in log if getattr(e.event, "type", None) == "CameraOffline"]
            if offline:
                break
            await asyncio.sleep(0.1)
        assert offline, "no CameraOffline notice"
        assert offline[0].event.data["camera_id"] == CAMERA
        listed = await client.get("/v1/cameras", params={"school_id": "lincoln-hs"})
        assert next(c for c in listed.json()["cameras"] if c["id"] == CAMERA)["online"] is False
    finally:
        await viewer.close()
