"""`alertd simulate`'s scenarios end to end against a live alertd whose clock the simulator
moves (ServerClock): every timestamp alertd records is the scenario's own, so the alerts'
timelines and the after-action report must match the plan exactly.

Room accountability (`POST /v1/alerts/{id}/roll`) and the after-action report come with the
roll and drills work; until this alertd has those routes, the tests check what exists (the
alerts raised, acknowledged, responded to and cleared at the planned instants, the stream
events seen) and that every room's report was refused as an unknown route, nothing else.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from alertd.main import create_app
from alertd.settings import Settings
from alertd.testing.auth import headers_for
from alertd.testing.clock import FakeClock
from alertd.testing.live import serving
from clients.simulator.cli import scenario_path
from clients.simulator.contract import report_figures
from clients.simulator.document import load_scenario
from clients.simulator.pace import ServerClock
from clients.simulator.runner import Outcome, simulate
from clients.simulator.scenario import AllClearStep, EndDrillStep, RaiseStep

ROLL_ROUTE = "/v1/alerts/{alert_id}/roll"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def live(settings: Settings, clock: FakeClock) -> AsyncIterator[tuple[FastAPI, str]]:
    app = create_app(settings, clock=clock)
    async with serving(app) as url:
        yield app, url


def has_route(app: FastAPI, path: str) -> bool:
    return path in app.openapi()["paths"]


async def alert_detail(url: str, alert_id: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=url) as client:
        answer = await client.get(
            f"/v1/alerts/{alert_id}", headers=await headers_for(client, "dispatcher")
        )
    assert answer.status_code == 200, answer.text
    detail: dict[str, Any] = answer.json()
    return detail


def seconds_after(start: Any, detail: dict[str, Any], event_type: str) -> list[float]:
    from datetime import datetime

    return [
        (datetime.fromisoformat(e["at"]) - start).total_seconds()
        for e in detail["timeline"]
        if e["type"] == event_type
    ]


def check_rooms(app: FastAPI, outcome: Outcome, *, unreported: int = 0) -> None:
    """Every planned room report reached the console and the report says what the plan
    says; or, on an alertd without room accountability, each was refused as unknown."""
    reports = outcome.plan.roll_reports()
    assert reports == len(outcome.plan.rooms) - unreported
    if not has_route(app, ROLL_ROUTE):
        assert len(outcome.failures) == reports
        assert all("roll" in str(f) and "refused 404" in str(f) for f in outcome.failures)
        return
    assert outcome.failures == [] and outcome.lost() == []
    reported = set(outcome.plan.rooms) - set(outcome.plan.expected[0].unreported_rooms)
    assert set(outcome.reports_seen) == reported
    assert outcome.events["RoomReported"] == reports
    [expected] = outcome.plan.expected
    report = outcome.after_action[expected.alert]
    assert report is not None, "alertd has room accountability but no after-action report"
    assert report_figures(report) == {
        "first_ack_seconds": pytest.approx(expected.first_ack, abs=0.001),
        "sro_on_scene_seconds": pytest.approx(expected.sro_on_scene, abs=0.001),
        "all_rooms_accounted_seconds": None
        if expected.all_rooms_accounted is None
        else pytest.approx(expected.all_rooms_accounted, abs=0.001),
        "rooms_accounted": expected.rooms_accounted,
        "unreported_rooms": sorted(expected.unreported_rooms),
    }


async def test_a_lockdown_drill_runs_on_the_servers_clock_as_planned(
    live: tuple[FastAPI, str], clock: FakeClock
) -> None:
    app, url = live
    scenario = load_scenario(scenario_path("lockdown_drill"))
    start = clock.now()
    outcome = await simulate(scenario, url, pace=ServerClock(clock), settle_seconds=10)

    assert clock.now() == start + timedelta(seconds=300)  # moved by the timeline, no more
    detail = await alert_detail(url, outcome.alert_ids["alert"])
    assert (detail["kind"], detail["room_id"], detail["drill"], detail["state"]) == (
        "lockdown", "lincoln-hs-a-204", True, "all_clear",
    )  # fmt: skip
    assert detail["raised_by"]["role"] == "drill_coordinator"
    assert outcome.drill_plans.keys() == {"alert"}  # raised through a drill plan
    assert seconds_after(start, detail, "AlertRaised") == [0.0]
    assert seconds_after(start, detail, "AlertAcknowledged") == [4.0]
    assert seconds_after(start, detail, "ResponderStatusReported") == [9.0, 25.0]
    statuses = {r["actor"]["role"]: r["status"] for r in detail["responders"]}
    assert statuses == {"dispatcher": "acknowledged", "sro": "on_scene"}
    assert seconds_after(start, detail, "NoteAdded") == [120.0]
    assert seconds_after(start, detail, "AllClearGiven") == [300.0]
    for kind, count in {"AlertRaised": 1, "AlertAcknowledged": 1, "ResponderStatusReported": 2,
                        "NoteAdded": 1, "AllClearGiven": 1}.items():  # fmt: skip
        assert outcome.events[kind] == count, kind
    assert len(outcome.plan.rooms) == 43  # every room of Lincoln High a roll expects
    check_rooms(app, outcome)


async def test_an_evacuation_drill_with_a_room_that_never_reports(
    live: tuple[FastAPI, str], clock: FakeClock
) -> None:
    app, url = live
    scenario = load_scenario(scenario_path("evacuation_drill"))
    start = clock.now()
    outcome = await simulate(scenario, url, pace=ServerClock(clock), settle_seconds=10)

    detail = await alert_detail(url, outcome.alert_ids["alert"])
    assert (detail["kind"], detail["destination"], detail["state"]) == (
        "evacuate", "North field", "all_clear",
    )  # fmt: skip
    assert seconds_after(start, detail, "AlertAcknowledged") == [6.0]
    assert seconds_after(start, detail, "ResponderStatusReported") == [90.0]
    [expected] = outcome.plan.expected
    assert len(expected.unreported_rooms) == 1 and expected.all_rooms_accounted is None
    check_rooms(app, outcome, unreported=1)


async def test_a_lockdown_drill_run_from_a_drill_plan(
    live: tuple[FastAPI, str], clock: FakeClock
) -> None:
    app, url = live
    if not has_route(app, "/v1/drills"):
        pytest.skip("drill plans are not in this alertd yet (the drills work)")
    shipped = load_scenario(scenario_path("lockdown_drill"))
    timeline = [
        step.model_copy(update={"drill_plan": True}) if isinstance(step, RaiseStep)
        else EndDrillStep(at=step.at, by="coordinator", do="end_drill")
        if isinstance(step, AllClearStep) else step
        for step in shipped.timeline
    ]  # fmt: skip
    scenario = shipped.model_copy(update={"timeline": timeline})
    start = clock.now()
    outcome = await simulate(scenario, url, pace=ServerClock(clock), settle_seconds=10)

    assert outcome.failures == [] and outcome.drill_plans.keys() == {"alert"}
    detail = await alert_detail(url, outcome.alert_ids["alert"])
    assert (detail["kind"], detail["drill"], detail["state"]) == ("lockdown", True, "all_clear")
    assert seconds_after(start, detail, "AlertRaised") == [0.0]
    assert seconds_after(start, detail, "AllClearGiven") == [300.0]
    check_rooms(app, outcome)


async def test_the_same_seed_gives_the_same_timeline_against_a_server(
    live: tuple[FastAPI, str], clock: FakeClock
) -> None:
    _app, url = live
    scenario = load_scenario(scenario_path("lockdown_drill"))
    first = await simulate(scenario, url, pace=ServerClock(clock), settle_seconds=1)
    again = await simulate(scenario, url, pace=ServerClock(clock), settle_seconds=1)
    assert first.plan == again.plan and first.run_id != again.run_id
    assert first.alert_ids["alert"] != again.alert_ids["alert"]
