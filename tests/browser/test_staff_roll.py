"""The roll in the staff app (/app) on a 360x640 phone in Chromium, against a real alertd:
a teacher reports the room on one screen, an evacuation shows its reunification sites, an
unreported room is reminded live, and the screen passes axe-core."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from app_pages import TIMEOUT_MS, RollScreen, StaffApp
from browser_harness import Api, ServedAlertd, run_axe, screenshot
from playwright.sync_api import BrowserContext, expect

from alertd.testing.settings import make_settings

pytestmark = pytest.mark.xdist_group("browser")

PHONE = {"width": 360, "height": 640}
ROOM = "lincoln-hs-a-109"  # Room 109 - English, Main Building, Floor 1


@pytest.fixture
def alertd(tmp_path: Path) -> Iterator[ServedAlertd]:
    """The served alertd, reminding unreported rooms a few seconds into a roll."""
    served = ServedAlertd(tmp_path)
    served.settings = make_settings(
        tmp_path,
        served.database_url,
        stream_heartbeat_seconds=2.0,
        roll_reminder_seconds=3.0,
        roll_round_seconds=0.5,
    )
    with served:
        yield served


@pytest.fixture
def staff_app(
    alertd: ServedAlertd, new_context: Callable[..., BrowserContext]
) -> Callable[..., StaffApp]:
    def open_app(**options: Any) -> StaffApp:
        context = new_context(**PHONE, **options)
        app = StaffApp(context.new_page(), alertd.url).open().sign_in()
        return app.choose_room("109", ROOM)

    return open_app


def roll_of(api: Api, alert_id: str) -> dict[str, Any]:
    return dict(api.get(f"/v1/alerts/{alert_id}/roll"))


def fits_the_phone(app: StaffApp) -> None:
    width = app.page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width} px wide on a {PHONE['width']} px phone"


def test_a_teacher_reports_the_room_on_one_screen_and_can_update_it(
    staff_app: Callable[..., StaffApp], api: Api
) -> None:
    app = staff_app()
    lockdown = api.raise_alert(kind="lockdown")
    roll = RollScreen(app)
    expect(roll.banner).to_contain_text("has not reported yet", timeout=TIMEOUT_MS)
    roll.open()
    fits_the_phone(app)
    expect(app.page.locator("#roll-title")).to_have_text("Report: Lockdown")

    roll.send()  # nothing chosen yet: refused here, nothing sent
    expect(app.page.locator("#roll-error")).to_have_text("Choose Secured or Needs help.")
    assert roll_of(api, lockdown["id"])["counts"]["secured"] == 0

    roll.status("secured").students(24).names("missing", "Jordan Smith", "Alex Kim")
    app.page.click("#roll-plus")
    screenshot(app.page, "staff-app-roll-report")
    roll.send()
    expect(roll.banner).to_contain_text("Reported Secured, 25 students", timeout=TIMEOUT_MS)
    line = next(r for r in roll_of(api, lockdown["id"])["rooms"] if r["room_id"] == ROOM)
    assert (line["status"], line["students_present"], line["missing"]) == (
        "secured",
        25,
        ["Jordan Smith", "Alex Kim"],
    )
    assert line["reported_by"]["name"] == "Sam Staff"

    roll.open()  # the form comes back filled with the last report
    expect(app.page.locator("#roll-present")).to_have_value("25")
    roll.status("needs_help").names("injured", "Sam Lee")
    roll.send()
    expect(roll.banner).to_contain_text("Reported Needs help", timeout=TIMEOUT_MS)
    line = next(r for r in roll_of(api, lockdown["id"])["rooms"] if r["room_id"] == ROOM)
    assert (line["status"], line["injured"]) == ("needs_help", ["Sam Lee"])
    screenshot(app.page, "staff-app-roll-banner")


def test_an_evacuation_shows_its_reunification_sites_and_a_group_reports(
    staff_app: Callable[..., StaffApp], api: Api
) -> None:
    app = staff_app()
    evacuation = api.raise_alert(kind="evacuate", destination="Football field")
    roll = RollScreen(app).open()
    expect(app.page.locator("#roll-where")).to_have_text("Evacuate to Football field.")
    sites = app.page.locator("#roll-sites")
    expect(sites).to_contain_text("Grace Community Church", timeout=TIMEOUT_MS)
    expect(sites).to_contain_text("Jefferson Elementary gym")
    app.page.click("label[for='roll-for-group']")
    app.page.fill("#roll-group", "Room 109 at the field")
    roll.status("secured").students(18).send()
    expect(roll.banner).to_contain_text("Reported Secured, 18 students", timeout=TIMEOUT_MS)
    groups = roll_of(api, evacuation["id"])["groups"]
    assert [(g["group"], g["students_present"]) for g in groups] == [("Room 109 at the field", 18)]


def test_an_unreported_room_is_reminded_live(staff_app: Callable[..., StaffApp], api: Api) -> None:
    app = staff_app()
    api.raise_alert(kind="shelter", hazard="tornado")
    reminder = app.page.locator("#roll-reminder")
    expect(reminder).to_have_text(
        "Reminder: your room has not reported. Report now.", timeout=TIMEOUT_MS
    )
    roll = RollScreen(app).open()
    roll.status("secured").students(20).send()
    expect(reminder).to_be_hidden(timeout=TIMEOUT_MS)


def test_the_roll_screen_speaks_spanish(staff_app: Callable[..., StaffApp], api: Api) -> None:
    app = staff_app(locale="es-ES")
    api.raise_alert(kind="lockdown")
    RollScreen(app).open()
    expect(app.page.locator("#roll-title")).to_have_text("Informe: Confinamiento")
    expect(app.page.locator("label[for='roll-needs-help']")).to_have_text("Necesita ayuda")


def test_the_roll_screen_has_no_serious_accessibility_violations(
    staff_app: Callable[..., StaffApp], api: Api
) -> None:
    app = staff_app()
    api.raise_alert(kind="evacuate", destination="Football field")
    roll = RollScreen(app)
    expect(roll.banner).to_be_visible(timeout=TIMEOUT_MS)
    assert run_axe(app.page, view="staff panel with the roll banner") == []
    roll.open()
    expect(app.page.locator("#roll-sites")).to_be_visible(timeout=TIMEOUT_MS)
    roll.send()  # with its error showing
    expect(app.page.locator("#roll-error")).not_to_be_empty()
    assert run_axe(app.page, view="staff roll report") == []
