"""Live camera views in the dispatch console (Chromium, WebRTC, WHEP against alertd)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from browser_harness import Api
from console_pages import ConsolePage
from playwright.sync_api import expect

from alertd.testing.rtsp_server import rtsp_server, rtsp_server_available

pytestmark = [pytest.mark.xdist_group("browser"), pytest.mark.timeout(120)]

ROOM_109 = "lincoln-hs-a-109"  # covered by the demo's camera 2 (test pattern)
CAM_1, CAM_2 = "lincoln-hs-a-1-cam-1", "lincoln-hs-a-1-cam-2"
FRAMES = (
    "(id) => document.querySelector(`[data-camera-id='${id}'] video`)"
    "?.getVideoPlaybackQuality().totalVideoFrames ?? 0"
)


def frames_of(console: ConsolePage, camera_id: str) -> int:
    return int(console.page.evaluate(FRAMES, camera_id))


def test_the_alert_detail_plays_the_cameras_covering_its_room(
    console: Callable[..., ConsolePage], api: Api
) -> None:
    dispatcher = console("dispatcher")
    alert = api.raise_alert(kind="medical", room_id=ROOM_109)
    dispatcher.wait_for_alert(alert["id"])
    dispatcher.confirm_seen()
    dispatcher.open(alert["id"])
    views = dispatcher.page.locator("#cameras figure.camera-view")
    expect(views.first).to_have_attribute("data-camera-id", CAM_2, timeout=15_000)
    expect(views.first).to_contain_text("covers this room")
    expect(views.first).to_have_attribute("data-state", "live", timeout=30_000)
    # Polled from here: the console's CSP (script-src 'self') forbids wait_for_function's eval.
    for _ in range(150):
        if frames_of(dispatcher, CAM_2) > 5:
            break
        dispatcher.page.wait_for_timeout(200)
    assert frames_of(dispatcher, CAM_2) > 5, "no video frames decoded within 30 s"
    first = frames_of(dispatcher, CAM_2)
    dispatcher.page.wait_for_timeout(1500)
    assert frames_of(dispatcher, CAM_2) > first  # the video keeps playing


@pytest.mark.skipif(not rtsp_server_available(), reason="./dev installs GStreamer")
def test_a_camera_that_stops_shows_offline_in_the_console(
    console: Callable[..., ConsolePage], api: Api
) -> None:
    with rtsp_server() as camera:
        registered = api.http.put(f"/v1/cameras/{CAM_1}/source", json={"url": camera.url})
        assert registered.status_code == 200, registered.text
        dispatcher = console("dispatcher")
        alert = api.raise_alert(kind="medical", room_id="lincoln-hs-a-101")
        dispatcher.wait_for_alert(alert["id"])
        dispatcher.confirm_seen()
        dispatcher.open(alert["id"])
        view = dispatcher.page.locator(f"#cameras [data-camera-id='{CAM_1}']")
        expect(view).to_have_attribute("data-state", "live", timeout=30_000)
        camera.stop()
        expect(view).to_have_attribute("data-state", "offline", timeout=30_000)
        expect(view).to_contain_text("Camera offline")
