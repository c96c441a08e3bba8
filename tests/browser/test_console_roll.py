"""The roll on the dispatch console, in a real browser against a real alertd: the floor plan
colours each room by its roll status (secured, needs help, not reported) and follows new
reports live; the alert's detail lists who needs help and who has not reported."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from browser_harness import Api, ServedAlertd, run_axe, screenshot
from console_pages import TIMEOUT_MS, ConsolePage
from playwright.sync_api import expect

pytestmark = pytest.mark.xdist_group("browser")

SECURED, HELP, SILENT, CORRIDOR = (
    "lincoln-hs-a-109",
    "lincoln-hs-a-111",
    "lincoln-hs-a-104",
    "lincoln-hs-a-100",
)
COLOURS = {  # console.css: what each status looks like on the plan
    "secured": "rgb(46, 125, 50)",
    "needs_help": "rgb(183, 28, 28)",
    "not_reported": "rgb(255, 224, 138)",
}


@pytest.fixture
def staff(alertd: ServedAlertd) -> Iterator[Api]:
    client = Api(alertd.url, role="staff")
    yield client
    client.http.close()


def report(staff: Api, alert_id: str, room_id: str, status: str, **fields: object) -> None:
    body = {"room_id": room_id, "status": status, "students_present": 22, **fields}
    answer = staff.http.post(f"/v1/alerts/{alert_id}/roll", json=body)
    assert answer.status_code == 201, answer.text


def test_the_floor_plan_colours_rooms_by_roll_status_and_follows_reports_live(
    console: Callable[..., ConsolePage], api: Api, staff: Api
) -> None:
    dispatcher = console("dispatcher")
    lockdown = api.raise_alert(kind="lockdown", drill=True)
    report(staff, lockdown["id"], SECURED, "secured")
    report(staff, lockdown["id"], HELP, "needs_help", injured=["Sam Lee"], missing=["Jo Park"])
    dispatcher.wait_for_alert(lockdown["id"])
    dispatcher.confirm_seen()  # a lockdown, even a drill, takes over the screen
    dispatcher.open(lockdown["id"])

    page = dispatcher.page
    for room, status in ((SECURED, "secured"), (HELP, "needs_help"), (SILENT, "not_reported")):
        shape = dispatcher.plan_room(room)
        expect(shape).to_have_attribute("data-roll-status", status, timeout=TIMEOUT_MS)
        expect(shape).to_have_css("fill", COLOURS[status])  # the plan redraws: poll it
    expect(dispatcher.plan_room(CORRIDOR)).not_to_have_attribute("data-roll-status", "not_reported")
    expect(page.locator("#roll-legend")).to_be_visible()
    counts = dispatcher.field("roll-counts")
    expect(counts).to_contain_text("1 secured, 1 need help")
    expect(dispatcher.detail).to_contain_text("injured: Sam Lee")
    expect(dispatcher.field("roll-unreported")).to_contain_text("Room 104")
    screenshot(page, "console-roll")
    page.locator("#plan").screenshot(path=str(screenshot(page, "console-roll-floor-plan")))

    report(staff, lockdown["id"], SILENT, "secured")  # arrives on the stream
    expect(dispatcher.plan_room(SILENT)).to_have_attribute(
        "data-roll-status", "secured", timeout=TIMEOUT_MS
    )
    expect(counts).to_contain_text("2 secured, 1 need help")
    expect(dispatcher.field("roll-unreported")).not_to_contain_text("Room 104")
    assert run_axe(page, view="console with a roll") == []
