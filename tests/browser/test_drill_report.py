"""Drills in a real browser: the console marks a real alert during a drill as REAL and links
to the after-action report; the report renders with its charts (and a screenshot of it goes
to docs/screenshots); the drills page shows the compliance counts."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from app_pages import SroApp
from browser_harness import Api, Offline, ServedAlertd, run_axe
from console_pages import TIMEOUT_MS, ConsolePage
from playwright.sync_api import Browser, BrowserContext, expect

from alertd.testing.clock import FakeClock

pytestmark = pytest.mark.xdist_group("browser")

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
ROOMS = ("lincoln-hs-a-109", "lincoln-hs-a-111", "lincoln-hs-a-104")


def _ok(api: Api, method: str, path: str, **kw: Any) -> Any:
    answer = api.http.request(method, path, **kw)
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


def _start_drill(api: Api, *, now: datetime | None = None, **body: Any) -> dict[str, Any]:
    when = ((now or datetime.now(UTC)) + timedelta(hours=1)).isoformat()
    plan = _ok(
        api,
        "POST",
        "/v1/drills",
        json={"kind": "lockdown", "school_id": "lincoln-hs", "scheduled_for": when} | body,
    )
    started: dict[str, Any] = _ok(api, "POST", f"/v1/drills/{plan['id']}/start")
    return started


def test_a_real_alert_during_a_drill_stands_out_as_real(
    console: Callable[..., ConsolePage], api: Api
) -> None:
    drill = _start_drill(api)
    dispatcher = console("dispatcher")
    dispatcher.wait_for_alert(drill["alert_id"])
    real = api.raise_alert(kind="medical", room_id=ROOMS[0])  # during the drill
    dispatcher.wait_for_alert(real["id"])
    dispatcher.confirm_seen()
    expect(dispatcher.row(real["id"]).locator(".badge.real")).to_have_text("REAL")
    expect(dispatcher.row(drill["alert_id"]).locator(".badge.drill")).to_have_text("DRILL")
    expect(dispatcher.row(drill["alert_id"]).locator(".badge.real")).to_have_count(0)
    dispatcher.open(real["id"])
    expect(dispatcher.page.locator("[data-real-banner]")).to_be_visible()
    dispatcher.open(drill["alert_id"])
    expect(dispatcher.page.locator("[data-drill-banner]")).to_be_visible()
    expect(dispatcher.page.locator("[data-real-banner]")).to_have_count(0)
    link = dispatcher.page.locator("a[data-report='html']")
    expect(link).to_have_attribute("href", f"/v1/alerts/{drill['alert_id']}/report?format=html")


def _signed_in(new_context: Callable[..., BrowserContext], alertd: ServedAlertd, role: str) -> Any:
    return _sign_in(new_context(width=900, height=1000), alertd, role)


def _sign_in(context: BrowserContext, alertd: ServedAlertd, role: str) -> Any:
    """A page of `context` signed in (session cookie) as the demo user of `role`."""
    answer = context.request.post(
        f"{alertd.url}/v1/auth/session",
        data={"username": f"{role}@demo.alertd", "password": "demo"},
    )
    assert answer.ok, answer.text()
    return context.new_page()


def test_the_report_renders_with_its_charts(browser: Browser, tmp_path: Path) -> None:
    # Its own alertd on a fake clock, so that the drill takes minutes and the charts show it.
    clock = FakeClock(datetime(2026, 10, 14, 14, 0, tzinfo=UTC))
    (tmp_path / "report").mkdir()
    with ServedAlertd(tmp_path / "report", clock=clock) as served:
        coordinator, sro, staff = (
            Api(served.url, r) for r in ("drill_coordinator", "sro", "staff")
        )
        drill = _start_drill(coordinator, test_contacts=["lincoln-hs-sro-1"], now=clock.now())
        alert_path = f"/v1/alerts/{drill['alert_id']}"
        rooms = _ok(sro, "GET", f"{alert_path}/roll")["unreported"]
        clock.advance(38)
        _ok(sro, "POST", f"{alert_path}/acknowledge")
        clock.advance(40)
        _ok(sro, "POST", f"{alert_path}/status", json={"status": "en_route"})
        for i, room in enumerate(rooms[:-4]):  # four rooms never report
            clock.advance(6 if i < 25 else 12)
            status = "needs_help" if i in (7, 30) else "secured"
            body = {"room_id": room, "status": status, "students_present": 18 + i % 9}
            _ok(staff, "POST", f"{alert_path}/roll", json=body)
            if i == 20:
                _ok(sro, "POST", f"{alert_path}/status", json={"status": "on_scene"})
        clock.advance(90)
        _ok(coordinator, "POST", f"{alert_path}/notes", json={"text": "Rooms on floor 3 slow"})
        clock.advance(60)
        _ok(coordinator, "POST", f"/v1/drills/{drill['id']}/end")

        context = browser.new_context(viewport={"width": 900, "height": 1000})
        offline = Offline(served.url)
        context.route("**/*", offline)
        page = _sign_in(context, served, "drill_coordinator")
        refused: list[str] = []
        page.on("console", lambda m: refused.append(m.text) if "Security" in m.text else None)
        page.goto(f"{served.url}{alert_path}/report?format=html")
        expect(page.locator("h1")).to_contain_text("After-action report: LOCKDOWN")
        expect(page.locator(".banner.drill")).to_have_text("DRILL")
        timeline = page.locator("svg.timeline")
        roll = page.locator("svg.roll")
        expect(timeline).to_be_visible()
        expect(roll).to_be_visible()
        events = len(coordinator.get(alert_path)["timeline"])
        expect(timeline.locator("circle.event")).to_have_count(events)
        expect(roll.locator("polyline.accounted")).to_have_count(1)
        for chart in (timeline, roll):
            box = chart.bounding_box()
            assert box is not None and box["width"] > 500 and box["height"] > 100
        expect(page.locator(".rooms-never li")).to_have_count(4)
        # The stylesheet applied (allowed by its hash): the banner has its colour.
        colour = page.evaluate(
            "getComputedStyle(document.querySelector('.banner')).backgroundColor"
        )
        assert colour == "rgb(75, 42, 155)", colour
        assert refused == []
        assert run_axe(page, view="report") == []
        SCREENSHOT.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT / "after_action_report.png"), full_page=True)
        assert offline.blocked == []
        context.close()


def test_the_drills_page_shows_compliance_and_runs_plans(
    new_context: Callable[..., BrowserContext], alertd: ServedAlertd, api: Api
) -> None:
    drill = _start_drill(api)
    _ok(api, "POST", f"/v1/alerts/{drill['alert_id']}/acknowledge")
    _ok(api, "POST", f"/v1/drills/{drill['id']}/end")
    page = _signed_in(new_context, alertd, "drill_coordinator")
    page.goto(f"{alertd.url}/console/drills.html")
    expect(page.locator("body[data-ready='true']")).to_be_attached(timeout=TIMEOUT_MS)
    lockdown = page.locator("#requirements tr[data-kind='lockdown']")
    expect(lockdown.locator("[data-done]")).to_have_text("1")
    expect(page.locator("#export")).to_have_attribute("href", re.compile(r"format=csv"))
    expect(page.locator("#disclaimer")).to_contain_text("not legal advice")
    expect(page.locator(f"#plans tr[data-plan='{drill['id']}']")).to_have_attribute(
        "data-state", "ended"
    )
    assert run_axe(page, view="drills") == []


def test_the_sro_app_marks_a_real_alert_during_a_drill_as_real(
    new_context: Callable[..., BrowserContext], alertd: ServedAlertd, api: Api
) -> None:
    drill = _start_drill(api, kind="medical", room_id=ROOMS[1])
    app = SroApp(new_context(width=360, height=640).new_page(), alertd.url).sign_in()
    expect(app.alert(drill["alert_id"])).to_contain_text("DRILL:", timeout=TIMEOUT_MS)
    real = api.raise_alert(kind="medical", room_id=ROOMS[2])
    expect(app.alert(real["id"])).to_contain_text("REAL:", timeout=TIMEOUT_MS)
    expect(app.alert(drill["alert_id"])).not_to_contain_text("REAL")
