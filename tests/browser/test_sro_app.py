"""The SRO app (/sro) on a 360x640 phone in Chromium, against a real alertd, no internet."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from app_pages import TIMEOUT_MS, SroApp
from browser_harness import Api, ServedAlertd, run_axe, screenshot
from playwright.sync_api import BrowserContext, Page, expect
from websockets.sync.client import ClientConnection, connect

pytestmark = pytest.mark.xdist_group("browser")

PHONE = {"width": 360, "height": 640}
ROOM = "lincoln-hs-a-109"  # Room 109 - English, Main Building, Floor 1


@pytest.fixture
def sro_app(
    alertd: ServedAlertd, new_context: Callable[..., BrowserContext]
) -> Callable[..., SroApp]:
    def open_app(**options: Any) -> SroApp:
        return SroApp(new_context(**PHONE, **options).new_page(), alertd.url).sign_in()

    return open_app


@pytest.fixture
def console_stream(alertd: ServedAlertd) -> Iterator[ClientConnection]:
    """The stream a dispatcher's console follows, from the head of the log."""
    dispatcher = Api(alertd.url, role="dispatcher")
    token = dispatcher.http.headers["Authorization"].removeprefix("Bearer ")
    dispatcher.http.close()
    url = alertd.url.replace("http://", "ws://") + f"/v1/stream?access_token={token}"
    with connect(url) as socket:
        assert json.loads(socket.recv(timeout=10))["type"] == "caught_up"
        yield socket


def next_event(
    socket: ClientConnection, page: Page, wanted: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """The next message on the stream that `wanted` accepts (heartbeats and others skipped).

    Between reads it lets Playwright run: the page's requests pass through the test's route
    handler, which only runs while Playwright is called."""
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    seen = []
    while time.monotonic() < deadline:
        try:
            message = json.loads(socket.recv(timeout=0.1))
        except TimeoutError:
            page.wait_for_timeout(20)
            continue
        if wanted(message):
            return message
        seen.append(message["type"])
    raise AssertionError(f"not on the console's stream; it carried {seen}")


def test_a_new_alert_appears_live_and_acknowledge_and_on_scene_reach_the_console(
    sro_app: Callable[..., SroApp], api: Api, console_stream: ClientConnection
) -> None:
    # The officer's phone knows where it is; the app may read it only while responding.
    app = sro_app(
        geolocation={"latitude": 44.9775, "longitude": -93.2650}, permissions=["geolocation"]
    )
    alert = api.raise_alert(kind="medical", room_id=ROOM)
    row = app.alert(alert["id"])
    expect(row).to_contain_text("Medical", timeout=TIMEOUT_MS)
    expect(row).to_contain_text("109")
    assert int(app.page.evaluate("document.body.dataset.alarmPlays || '0'")) == 1
    expect(app.page.locator("#location")).to_have_text("Your location is not shared.")
    row.click()

    marked = app.page.locator(f"#plan [data-room-id='{ROOM}']")
    expect(marked).to_have_class("room classroom alerted real selected", timeout=TIMEOUT_MS)
    expect(app.page.locator("#plan")).to_have_attribute(
        "aria-label",
        "Floor plan of Floor 1, Main Building; the alert's room 109 Room 109 – English is marked",
    )

    app.act("acknowledge")
    acknowledged = next_event(console_stream, app.page, lambda m: m["type"] == "AlertAcknowledged")
    assert (acknowledged["alert"]["id"], acknowledged["actor"]["name"]) == (
        alert["id"],
        "Officer Riley",
    )
    app.act("on_scene")
    reported = next_event(
        console_stream, app.page, lambda m: m["type"] == "ResponderStatusReported"
    )
    assert reported["alert"]["id"] == alert["id"]
    assert reported["data"] == {"status": "on_scene"}
    assert reported["actor"]["name"] == "Officer Riley"
    expect(app.page.locator("#detail-location")).to_contain_text(
        "Sharing your location with dispatch while you respond"
    )
    located = (
        reported
        if reported["note"]
        else next_event(console_stream, app.page, lambda m: m["type"] == "NoteAdded")
    )
    assert located["note"].startswith("Location 44.977500, -93.265000")
    expect(app.page.locator("#detail-responders")).to_contain_text("Officer Riley (on scene)")

    app.page.fill("#note-text", "Nurse is with the student")
    app.page.click("#note-form button[type=submit]")
    noted = next_event(console_stream, app.page, lambda m: m["type"] == "NoteAdded")
    assert noted["note"] == "Nurse is with the student"
    expect(app.page.locator("#notes")).to_contain_text("Nurse is with the student")
    screenshot(app.page, "sro-app-on-scene")

    app.act("resolve")
    next_event(console_stream, app.page, lambda m: m["type"] == "AlertResolved")
    expect(app.page.locator("#detail-location")).to_have_text("Your location is not shared.")


def test_the_sro_app_speaks_spanish_when_the_browser_asks_for_it(
    sro_app: Callable[..., SroApp], api: Api
) -> None:
    app = sro_app(locale="es-MX")
    alert = api.raise_alert(kind="fire", room_id=ROOM)
    expect(app.alert(alert["id"])).to_contain_text("Incendio", timeout=TIMEOUT_MS)
    expect(app.page.locator("#alerts-heading")).to_have_text("Alertas abiertas")


def test_the_sro_app_has_no_serious_accessibility_violations(
    sro_app: Callable[..., SroApp], api: Api
) -> None:
    app = sro_app()
    alert = api.raise_alert(kind="medical", room_id=ROOM)
    expect(app.alert(alert["id"])).to_be_visible(timeout=TIMEOUT_MS)
    assert run_axe(app.page, view="sro list") == []
    app.alert(alert["id"]).click()
    expect(app.page.locator(f"#plan [data-room-id='{ROOM}']")).to_be_attached(timeout=TIMEOUT_MS)
    assert run_axe(app.page, view="sro detail") == []
