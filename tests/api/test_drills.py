"""Drill plans, after-action reports and compliance over the HTTP API, on a fake clock.

The story: a coordinator schedules a drill, starts it (a drill alert, linked to its plan),
responders answer, the coordinator ends it; the report's metrics are the timings the clock
was moved through; the compliance page counts the term's drills.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from alertd.main import create_app
from alertd.testing.auth import headers_for
from alertd.testing.clock import FakeClock
from alertd.testing.settings import make_settings

SCHOOL = "lincoln-hs"
LOCKDOWN = {"kind": "lockdown", "school_id": SCHOOL}


class Drills:
    """The API as a coordinator and the other roles use it, with the clock in hand."""

    def __init__(self, app: FastAPI, client: httpx.AsyncClient, clock: FakeClock) -> None:
        self.app, self.client, self.clock = app, client, clock
        self.as_role: dict[str, dict[str, str]] = {}

    def advance_days(self, days: int) -> None:
        """Move the clock on; tokens issued before have expired by then: sign in again."""
        self.clock.advance(days * 24 * 3600)
        self.as_role.clear()

    async def call(
        self, method: str, path: str, role: str = "drill_coordinator", **kw: Any
    ) -> httpx.Response:
        if role not in self.as_role:
            self.as_role[role] = await headers_for(self.client, role)
        headers = self.as_role[role] | kw.pop("headers", {})
        return await self.client.request(method, path, headers=headers, **kw)

    async def ok(self, method: str, path: str, role: str = "drill_coordinator", **kw: Any) -> Any:
        answer = await self.call(method, path, role, **kw)
        assert answer.status_code in (200, 201), answer.text
        return answer.json()

    def later(self, **delta: float) -> str:
        return (self.clock.now() + timedelta(**delta)).isoformat()

    async def plan(self, **body: Any) -> dict[str, Any]:
        plan: dict[str, Any] = await self.ok(
            "POST", "/v1/drills", json=LOCKDOWN | {"scheduled_for": self.later(hours=1)} | body
        )
        return plan

    async def run(self, **body: Any) -> dict[str, Any]:
        """Schedule and start a drill; return the started plan."""
        plan = await self.plan(**body)
        started: dict[str, Any] = await self.ok("POST", f"/v1/drills/{plan['id']}/start")
        return started


@pytest.fixture
async def d(tmp_path: Path, sqlite_url: str) -> AsyncIterator[Drills]:
    clock = FakeClock()
    app = create_app(make_settings(tmp_path, sqlite_url), clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://alertd.test") as c:
            yield Drills(app, c, clock)


async def test_a_drill_from_plan_to_end(d: Drills) -> None:
    plan = await d.plan(test_contacts=["lincoln-hs-principal"], note="fall lockdown drill")
    assert plan["state"] == "scheduled" and plan["alert_id"] is None
    listed = await d.ok("GET", f"/v1/drills?school_id={SCHOOL}", role="sro")
    assert [p["id"] for p in listed["drills"]] == [plan["id"]]

    started = await d.ok("POST", f"/v1/drills/{plan['id']}/start")
    assert started["state"] == "running" and started["started_at"]
    alert = await d.ok("GET", f"/v1/alerts/{started['alert_id']}", role="dispatcher")
    assert alert["drill"] is True and alert["kind"] == "lockdown"
    assert alert["drill_plan"] == {
        "id": plan["id"],
        "audience": "school",
        "contacts": ["lincoln-hs-principal"],
    }
    assert alert["timeline"][0]["drill"] is True
    await d.ok("POST", f"/v1/alerts/{started['alert_id']}/acknowledge", role="sro")

    ended = await d.ok("POST", f"/v1/drills/{plan['id']}/end")
    assert ended["state"] == "ended" and ended["held"] is True
    closed = await d.ok("GET", f"/v1/alerts/{started['alert_id']}", role="dispatcher")
    assert closed["state"] == "all_clear"
    assert closed["timeline"][-1]["actor"]["name"] == "Dana Drill"
    again = await d.call("POST", f"/v1/drills/{plan['id']}/start")
    assert again.status_code == 409 and again.json()["current_state"] == "ended"


async def test_a_drill_nobody_acknowledged_still_ends_and_counts_as_held(d: Drills) -> None:
    started = await d.run()
    ended = await d.ok("POST", f"/v1/drills/{started['id']}/end")
    assert ended["held"] is True
    alert = await d.ok("GET", f"/v1/alerts/{started['alert_id']}", role="sro")
    assert alert["state"] == "cancelled"  # the only way out of "raised"; the plan says held
    assert "before anyone acknowledged" in alert["cancel_reason"]


async def test_ending_a_drill_whose_alert_is_closed_only_ends_the_plan(d: Drills) -> None:
    started = await d.run()
    alert_path = f"/v1/alerts/{started['alert_id']}"
    await d.ok("POST", f"{alert_path}/acknowledge", role="sro")
    await d.ok("POST", f"{alert_path}/all-clear", role="sro", json={"note": "done"})
    ended = await d.ok("POST", f"/v1/drills/{started['id']}/end")
    assert ended["state"] == "ended"
    assert (await d.ok("GET", alert_path, role="sro"))["timeline"][-1]["actor"]["role"] == "sro"


async def test_a_real_alert_during_a_drill_is_real_and_never_merged_into_it(d: Drills) -> None:
    started = await d.run(kind="medical", room_id="lincoln-hs-a-104")
    real = await d.call(
        "POST",
        "/v1/alerts",
        json={"kind": "medical", "school_id": SCHOOL, "room_id": "lincoln-hs-a-104"},
        headers={"Idempotency-Key": "real-1"},
    )
    assert real.status_code == 201, real.text  # a new alert, not the drill repeated
    assert real.json()["drill"] is False and real.json()["id"] != started["alert_id"]
    open_alerts = await d.ok("GET", f"/v1/alerts?school={SCHOOL}&state=raised", role="dispatcher")
    assert {(a["id"], a["drill"]) for a in open_alerts["alerts"]} == {
        (started["alert_id"], True),
        (real.json()["id"], False),
    }
    # The drill cannot be turned into a real alert: upgrades keep it a drill ...
    path = f"/v1/alerts/{started['alert_id']}/upgrade"
    refused = await d.call("POST", path, json={"kind": "lockdown", "drill": False})
    assert refused.status_code == 422 and refused.json()["field"] == "drill"
    upgraded = await d.ok("POST", path, json={"kind": "fire"})
    assert upgraded["kind"] == "fire" and upgraded["drill"] is True


async def test_who_may_plan_run_and_read_drills(d: Drills) -> None:
    body = LOCKDOWN | {"scheduled_for": d.later(hours=1)}
    for role in ("staff", "sro", "dispatcher"):
        answer = await d.call("POST", "/v1/drills", role, json=body)
        assert answer.status_code == 403, (role, answer.text)
    assert (await d.call("GET", "/v1/drills", "staff")).status_code == 403
    plan = await d.plan()
    for role, status in (("sro", 403), ("staff", 403), ("dispatcher-jefferson", 404)):
        assert (await d.call("POST", f"/v1/drills/{plan['id']}/start", role)).status_code == status
    assert (
        await d.call("GET", f"/v1/drills/{plan['id']}", "dispatcher-jefferson")
    ).status_code == 404
    assert (await d.ok("GET", "/v1/drills", "dispatcher-jefferson"))["drills"] == []
    elsewhere = await d.call("POST", "/v1/drills", json=body | {"school_id": "jefferson-es"})
    assert elsewhere.status_code == 422 and elsewhere.json()["field"] == "school_id"
    started = await d.ok("POST", f"/v1/drills/{plan['id']}/start")
    report = f"/v1/alerts/{started['alert_id']}/report"
    assert (await d.call("GET", report, "staff")).status_code == 403
    assert (await d.call("GET", report, "dispatcher-jefferson")).status_code == 404
    assert (await d.call("GET", report, "sro")).status_code == 200
    compliance = f"/v1/compliance?school_id={SCHOOL}&term=2026-year"
    assert (await d.call("GET", compliance, "staff")).status_code == 403
    assert (await d.call("GET", compliance, "sro")).status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": None}, "kind"),
        ({"kind": "party"}, "kind"),
        ({"scheduled_for": "tomorrow"}, "scheduled_for"),
        ({"scheduled_for": "2031-01-01T09:00:00Z"}, "scheduled_for"),
        ({"test_contacts": ["riverside-pd"]}, "test_contacts"),  # not a test contact
        ({"test_contacts": ["nobody"]}, "test_contacts"),
        ({"room_id": "jefferson-es-a-105"}, "room_id"),  # another school's room
        ({"kind": "evacuate"}, "destination"),
        ({"audience": "everyone"}, "audience"),
        ({"school_id": "no-such-school"}, "school_id"),
        ({"drill": True}, "drill"),  # not a field of a plan
    ],
)
async def test_a_bad_plan_is_refused_naming_the_field(
    d: Drills, body: dict[str, Any], field: str
) -> None:
    full = LOCKDOWN | {"scheduled_for": d.later(hours=1)} | body
    answer = await d.call(
        "POST", "/v1/drills", json={k: v for k, v in full.items() if v is not None}
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == field
    assert (await d.ok("GET", "/v1/drills"))["drills"] == []  # nothing half-written


async def test_report_metrics_match_the_clock(d: Drills) -> None:
    started = await d.run(test_contacts=["lincoln-hs-sro-1"])
    alert_path = f"/v1/alerts/{started['alert_id']}"
    rooms = (await d.ok("GET", f"{alert_path}/roll", role="sro"))["unreported"]
    assert len(rooms) > 10

    async def report(room: str, status: str = "secured") -> None:
        body = {"room_id": room, "status": status, "students_present": 21}
        await d.ok("POST", f"{alert_path}/roll", role="staff", json=body)

    d.clock.advance(42)
    await d.ok("POST", f"{alert_path}/acknowledge", role="dispatcher")
    d.clock.advance(38)
    await d.ok("POST", f"{alert_path}/status", role="dispatcher", json={"status": "on_scene"})
    d.clock.advance(20)  # 100 s: the first room reports, one more every 2 s after it
    for i, room in enumerate(rooms[:-1]):
        await report(room, "needs_help" if i == 1 else "secured")
        d.clock.advance(2)
    d.clock.advance(180 - 100 - 2 * (len(rooms) - 1))  # 180 s after the start
    await d.ok("POST", f"{alert_path}/status", role="sro", json={"status": "on_scene"})
    report_before_the_last = await d.ok("GET", f"{alert_path}/report", role="sro")
    assert report_before_the_last["metrics"]["all_rooms_accounted_seconds"] is None
    assert [r["id"] for r in report_before_the_last["rooms_never_reported"]] == rooms[-1:]
    d.clock.advance(60)
    await report(rooms[-1])  # 240 s: every room accounted for
    d.clock.advance(360)
    await d.ok("POST", f"/v1/drills/{started['id']}/end")

    report = await d.ok("GET", f"{alert_path}/report", role="sro")
    metrics = report["metrics"]
    assert metrics["first_acknowledgement_seconds"] == 42
    assert metrics["first_acknowledged_by"] == "Dee Dispatch"
    assert metrics["sro_on_scene_seconds"] == 180
    assert metrics["all_rooms_accounted_seconds"] == 240
    assert metrics["rooms_expected"] == metrics["rooms_accounted"] == len(rooms)
    assert report["rooms_never_reported"] == []
    assert [r["id"] for r in report["rooms_needing_help"]] == [rooms[1]]
    steps = report["rooms_accounted_over_time"]
    assert steps[1] == {"offset_seconds": 100, "accounted": 1}
    assert steps[-1] == {"offset_seconds": 240, "accounted": len(rooms)}
    assert report["duration_seconds"] == 600 and report["drill"] is True
    assert report["timeline"][0]["type"] == "AlertRaised"
    assert report["timeline"][-1]["type"] == "AllClearGiven"
    assert {x["recipient_id"] for x in report["deliveries"]} == {"lincoln-hs-sro-1"}

    page = await d.call("GET", f"{alert_path}/report?format=html", "sro")
    assert page.headers["content-type"].startswith("text/html")
    assert page.text.count("<svg") == 2 and "DRILL" in page.text
    assert "style-src 'sha256-" in page.headers["content-security-policy"]
    table = await d.call("GET", f"{alert_path}/report?format=csv", "sro")
    rows = list(csv.DictReader(io.StringIO(table.text)))
    assert {"first_acknowledgement_seconds": "42.0"}.items() <= {
        r["name"]: r["value"] for r in rows if r["section"] == "metric"
    }.items()
    bad = await d.call("GET", f"{alert_path}/report?format=pdf", "sro")
    assert bad.status_code == 422 and bad.json()["field"] == "format"
    missing = await d.call("GET", "/v1/alerts/no-such-alert/report", "sro")
    assert missing.status_code == 404


async def test_compliance_counts_a_seeded_history(d: Drills) -> None:
    # The fake clock starts on 1 September 2026: New York's (example) school year 2026.
    async def drill(kind: str, *, end: bool = True, **body: Any) -> None:
        started = await d.run(kind=kind, **body)
        if end:
            await d.ok("POST", f"/v1/drills/{started['id']}/end")
        d.advance_days(7)

    await drill("lockdown")  # ended before anyone acknowledged: held all the same
    await drill("lockdown")
    await drill("evacuate", destination="Field B")
    await drill("lockdown", end=False)  # still running: not counted yet
    aborted = await d.run(kind="evacuate", destination="Field B")
    await d.ok(
        "POST", f"/v1/alerts/{aborted['alert_id']}/cancel", json={"reason": "fire alarm fault"}
    )
    assert (await d.ok("POST", f"/v1/drills/{aborted['id']}/end"))["held"] is False
    await d.plan(kind="lockdown", scheduled_for=d.later(days=30))  # planned
    cancelled = await d.plan(kind="lockdown", scheduled_for=d.later(days=31))
    await d.ok("POST", f"/v1/drills/{cancelled['id']}/cancel")
    await d.call(
        "POST",
        "/v1/alerts",
        json=LOCKDOWN,
        headers={"Idempotency-Key": "real"},
    )  # a real lockdown is no drill

    found = await d.ok("GET", f"/v1/compliance?school_id={SCHOOL}&term=2026-year", "sro")
    assert found["state"] == "NY" and "not legal advice" in found["disclaimer"]
    rows = {
        r["kind"]: (r["required"], r["done"], r["planned"], r["met"]) for r in found["requirements"]
    }
    assert rows == {"evacuate": (8, 1, 0, False), "lockdown": (4, 2, 1, False)}
    assert len(found["drills"]) == 5 and found["met"] is False
    today = await d.ok("GET", f"/v1/compliance?school_id={SCHOOL}", "sro")
    assert today["term"] == "2026-year"

    exported = await d.call(
        "GET", f"/v1/compliance?school_id={SCHOOL}&term=2026-year&format=csv", "sro"
    )
    assert exported.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(exported.text)))
    assert [(r["kind"], r["done"], r["met"]) for r in table] == [
        ("evacuate", "1", "no"),
        ("lockdown", "2", "no"),
    ]
    for query, field in (("term=2026-fall", "term"), ("term=x", "term"), ("", "school_id")):
        path = f"/v1/compliance?school_id={SCHOOL}&{query}" if field == "term" else "/v1/compliance"
        answer = await d.call("GET", path, "sro")
        assert answer.status_code == 422 and answer.json()["field"] == field, answer.text
    unknown = await d.call("GET", "/v1/compliance?school_id=nowhere", "drill_coordinator")
    assert unknown.status_code == 422 and unknown.json()["field"] == "school_id"


async def test_a_listing_with_a_moment_out_of_range_names_the_field(d: Drills) -> None:
    query = {"scheduled_after": "0001-01-01T00:00:00+14:00"}
    answer = await d.call("GET", "/v1/drills", params=query)
    assert answer.status_code == 422 and answer.json()["field"] == "scheduled_after"
