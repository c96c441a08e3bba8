"""The dispatch console in a real browser, against a real alertd, with no internet."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from browser_harness import Api, ServedAlertd, run_axe, screenshot, timed
from console_pages import TIMEOUT_MS, ConsolePage
from playwright.sync_api import Page, WebSocketRoute, expect

from alertd.testing.demo_rooms import room_for

pytestmark = pytest.mark.xdist_group("browser")

LINCOLN, JEFFERSON = "lincoln-hs", "jefferson-es"
IMDF_FIXTURE = "tests/fixtures/imdf/spbstu-polymap"
ROOM = "lincoln-hs-a-109"  # Room 109 - English, Main Building, Floor 1


def test_a_raised_alert_appears_in_the_queue_and_in_its_room_on_the_floor_plan(
    console: Callable[..., ConsolePage], api: Api
) -> None:
    dispatcher = console("dispatcher")
    elapsed = timed()
    alert = api.raise_alert(kind="medical", room_id=ROOM, note="student collapsed")
    row = dispatcher.wait_for_alert(alert["id"])
    print(f"\nPOST /v1/alerts to the console's queue: {elapsed() * 1000:.0f} ms")
    expect(row).to_contain_text("Medical")
    expect(row).to_contain_text("Lincoln High School")
    dispatcher.confirm_seen()  # a real alert takes over the screen until confirmed
    assert int(dispatcher.page.evaluate("document.body.dataset.alarmPlays || '0'")) >= 1
    dispatcher.open(alert["id"])
    room = dispatcher.plan_room(ROOM)
    expect(room).to_have_class("room classroom alerted real selected", timeout=TIMEOUT_MS)
    expect(dispatcher.cameras()).to_have_count(2)  # the demo's cameras on this floor
    expect(dispatcher.field("raised-by")).to_contain_text("from the API")
    expect(dispatcher.detail).to_contain_text("NOT reached")  # no SMS provider: sent nowhere
    page = dispatcher.page
    screenshot(page, "console-queue")
    assert run_axe(page, view="queue and detail") == []
    page.locator("#plan").focus()
    screenshot(page, "console-detail")
    dispatcher.page.locator("#plan").screenshot(path=str(screenshot(page, "console-floor-plan")))
    assert run_axe(page, view="floor plan") == []


def test_acknowledging_in_the_console_shows_in_the_api_and_on_a_second_console(
    console: Callable[..., ConsolePage], api: Api
) -> None:
    first, second = console("dispatcher"), console("sro")
    alert = api.raise_alert(kind="fire", room_id=room_for(LINCOLN, 7))
    for page in (first, second):
        page.wait_for_alert(alert["id"])
        page.confirm_seen()
    first.open(alert["id"])
    second.open(alert["id"])
    first.act("acknowledge")
    expect(first.field("state")).to_have_text("Acknowledged", timeout=TIMEOUT_MS)
    expect(second.field("responders")).to_contain_text("Dee Dispatch", timeout=TIMEOUT_MS)
    expect(second.row(alert["id"])).to_contain_text("Acknowledged")
    detail = api.get(f"/v1/alerts/{alert['id']}")
    assert detail["state"] == "acknowledged"
    assert [r["actor"]["name"] for r in detail["responders"]] == ["Dee Dispatch"]


def test_a_cut_stream_turns_red_and_the_alert_missed_appears_without_a_reload(
    console: Callable[..., ConsolePage], api: Api, alertd: ServedAlertd
) -> None:
    cut = {"on": False}
    sockets: list[WebSocketRoute] = []

    def relay(socket: WebSocketRoute) -> None:
        if cut["on"]:
            socket.close(code=1011, reason="cut by the test")
            return
        sockets.append(socket)
        socket.connect_to_server()

    dispatcher = console("dispatcher")
    dispatcher.page.route_web_socket("**/v1/stream**", relay)
    dispatcher.page.evaluate("window.alertdConsole.stream.socket.close(4000, 'reroute')")
    dispatcher.wait_live()
    dispatcher.page.evaluate("window.notReloaded = true")
    cut["on"] = True
    for socket in sockets:
        socket.close(code=1011, reason="cut by the test")
    expect(dispatcher.connection).to_have_attribute("data-state", "down", timeout=TIMEOUT_MS)
    missed = api.raise_alert(kind="medical", room_id=room_for(LINCOLN, 11))
    expect(dispatcher.not_live_banner).to_be_visible(timeout=TIMEOUT_MS)
    expect(dispatcher.connection).to_have_attribute("data-state", "not-live")
    assert dispatcher.row(missed["id"]).count() == 0
    cut["on"] = False
    dispatcher.wait_for_alert(missed["id"])
    dispatcher.wait_live()
    expect(dispatcher.not_live_banner).to_be_hidden()
    assert dispatcher.page.evaluate("window.notReloaded") is True


def test_fifty_presses_are_one_incident_and_a_medical_among_them_stays_on_its_own(
    console: Callable[..., ConsolePage], api: Api
) -> None:
    dispatcher = console("dispatcher")
    presses = []
    for n in range(50):
        if n == 25:
            medical = api.raise_alert(kind="medical", room_id="lincoln-hs-b-g104")
        presses.append(api.raise_alert(kind="lockdown", room_id=room_for(LINCOLN, n)))
    incident = dispatcher.incidents()
    expect(incident).to_have_count(1, timeout=TIMEOUT_MS)
    expect(incident.locator("> button.row")).to_have_attribute(
        "data-count", "50", timeout=TIMEOUT_MS
    )
    expect(incident).to_contain_text("Lockdown — incident of 50 presses")
    medical_row = dispatcher.page.locator(
        f"#queue > li > button.row[data-alert-id='{medical['id']}']"
    )
    expect(medical_row).to_be_visible()
    expect(dispatcher.top_level_rows()).to_have_count(2)  # the incident and the medical
    dispatcher.confirm_seen()
    incident.locator("> button.row").click()
    expect(incident.locator("ol.members button.row")).to_have_count(50)
    assert {p["id"] for p in presses} == set(
        incident.locator("ol.members button.row").evaluate_all(
            "rows => rows.map(r => r.dataset.alertId)"
        )
    )
    check_grouping_rules(dispatcher.page)


def check_grouping_rules(page: Page) -> None:
    """The pure grouping module, run in the page: other kinds, schools or drills never fold."""
    entries = page.evaluate(
        """async () => {
        const {groupIncidents} = await import('/console/js/incidents.js');
        const at = (s) => new Date(Date.UTC(2026, 0, 1, 8, 0, s)).toISOString();
        const a = (id, school, kind, s, drill = false, severity = 'extreme') =>
          ({id, school_id: school, kind, raised_at: at(s), drill, severity,
            state: 'raised', room_id: id});
        return groupIncidents([
          a('l1', 'x', 'lockdown', 0), a('l2', 'x', 'lockdown', 2), a('l3', 'x', 'lockdown', 4),
          a('m1', 'x', 'medical', 3, false, 'severe'), a('l4', 'y', 'lockdown', 3),
          a('d1', 'x', 'lockdown', 3, true),
        ]).map(e => e.type === 'incident' ? e.alerts.map(x => x.id).join('+') : e.alert.id);
    }"""
    )
    assert sorted(entries) == sorted(["l1+l2+l3", "m1", "l4", "d1"])


def test_a_drill_shows_the_drill_banner_and_a_real_alert_does_not(
    console: Callable[..., ConsolePage], api: Api
) -> None:
    coordinator = console("drill_coordinator")
    drill = api.raise_alert(kind="lockdown", room_id=room_for(LINCOLN, 3), drill=True)
    real = api.raise_alert(kind="medical", room_id=room_for(LINCOLN, 4))
    coordinator.wait_for_alert(drill["id"])
    coordinator.wait_for_alert(real["id"])
    coordinator.confirm_seen()
    expect(coordinator.row(drill["id"])).to_contain_text("DRILL")
    expect(coordinator.row(real["id"])).not_to_contain_text("DRILL")
    coordinator.open(drill["id"])
    expect(coordinator.drill_banner).to_have_text("DRILL — NOT A REAL EMERGENCY")
    coordinator.open(real["id"])
    expect(coordinator.drill_banner).to_have_count(0)
    coordinator.act("acknowledge")  # a drill coordinator may not acknowledge: it says why
    expect(coordinator.action_error).to_contain_text("Refused: not allowed to acknowledge")


def test_a_dispatcher_of_another_agency_sees_nothing_of_a_school_it_does_not_cover(
    console: Callable[..., ConsolePage], api: Api
) -> None:
    jefferson = console("dispatcher-jefferson")
    lincoln_alert = api.raise_alert(kind="lockdown", room_id=room_for(LINCOLN, 2))
    jefferson_alert = api.raise_alert(
        kind="medical", school_id=JEFFERSON, room_id=room_for(JEFFERSON, 2)
    )
    jefferson.wait_for_alert(jefferson_alert["id"])  # it arrived after the Lincoln one
    assert jefferson.row(lincoln_alert["id"]).count() == 0
    assert jefferson.page.locator("#overview [data-school-id]").evaluate_all(
        "items => items.map(i => i.dataset.schoolId)"
    ) == [JEFFERSON]
    schools = jefferson.page.locator("#plan-school option").evaluate_all("o => o.map(x => x.value)")
    assert schools == [JEFFERSON]
    assert "Lincoln" not in jefferson.page.locator("body").inner_text()


def test_the_console_and_the_api_docs_render_fully_with_the_internet_blocked(
    console: Callable[..., ConsolePage], alertd: ServedAlertd, new_context: Callable[..., Any]
) -> None:
    dispatcher = console("dispatcher", width=1920, height=1080)
    expect(dispatcher.plan_rooms().first).to_be_visible()
    widths = dispatcher.page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
    assert widths[0] <= widths[1]
    docs = new_context().new_page()
    docs.goto(f"{alertd.url}/docs")
    expect(docs.locator(".opblock").first).to_be_visible(timeout=TIMEOUT_MS)
    expect(docs.locator(".opblock-summary-path", has_text="/v1/alerts").first).to_be_visible()
    # (the new_context fixture fails the test if anything tried to leave the machine)


def test_an_imdf_fixture_imports_and_draws_on_the_floor_plan(
    console: Callable[..., ConsolePage], alertd: ServedAlertd, api: Api
) -> None:
    env = {
        "ALERTD_DATABASE_URL": alertd.database_url,
        "ALERTD_DATA_DIR": str(alertd.data_dir),
        "ALERTD_DEV_MODE": "true",
        "ALERTD_LOG_LEVEL": "WARNING",
        "PATH": "/usr/bin:/bin",
    }
    command = [sys.executable, "-m", "alertd", "site", "import-imdf", IMDF_FIXTURE]
    command += ["--school-id", "spbpu", "--school-name", "SPbPU (Polytechnic University)"]
    command += ["--district-id", "riverside-usd", "--timezone", "Europe/Moscow"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "2 buildings, 8 levels, 443 units" in done.stdout
    tree = api.get("/v1/schools/spbpu")
    building = next(b for b in tree["buildings"] if b["name"] == "Main academic building")
    floor = next(f for f in building["floors"] if f["ordinal"] == 1)
    admin = console("district_admin")
    admin.page.select_option("#plan-school", "spbpu")
    admin.page.select_option("#plan-building", building["id"])
    admin.page.select_option("#plan-floor", floor["id"])
    expect(admin.plan_rooms()).to_have_count(len(floor["rooms"]), timeout=TIMEOUT_MS)
    alert = api.raise_alert(school_id="spbpu", kind="medical", room_id=floor["rooms"][0]["id"])
    admin.wait_for_alert(alert["id"])
    admin.confirm_seen()
    admin.open(alert["id"])
    expect(admin.plan_room(floor["rooms"][0]["id"])).to_have_class(
        f"room {floor['rooms'][0]['type']} alerted real selected", timeout=TIMEOUT_MS
    )
