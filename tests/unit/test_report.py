"""After-action reports (core and renderers): metrics from known timings, the rooms that
never reported, deliveries with their failures, and the charts as SVG."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from alertd.adapters.report.data import report_to_dict
from alertd.adapters.report.html import report_html
from alertd.adapters.report.svg import roll_chart, timeline_chart
from alertd.adapters.report.table import report_csv
from alertd.core.actor import Actor
from alertd.core.alert import Alert, AlertEvent, AlertState, EventType, Responder, ResponderStatus
from alertd.core.delivery import Channel, Delivery, DeliveryState
from alertd.core.kind import AlertKind, Severity
from alertd.core.report import Report, build_report, room_reports_in
from alertd.core.roll import ExpectedRoom

T0 = datetime(2026, 9, 14, 9, 0, tzinfo=UTC)
COORDINATOR = Actor("coord-1", "Dana Drill", role="drill_coordinator")
DISPATCHER = Actor("disp-1", "Dee Dispatch", role="dispatcher")
SRO = Actor("sro-1", "Officer Riley", role="sro")
TEACHER = Actor("t-1", "Ms. Rivera", role="staff")
ROOMS = (
    ExpectedRoom("r1", "Biology", "101", "b", "f1"),
    ExpectedRoom("r2", "Room 102 - Library", "102", "b", "f1"),
    ExpectedRoom("r3", "Gym", "103", "b", "f1"),
)
ALERT = Alert(
    id="a-1",
    kind=AlertKind.LOCKDOWN,
    severity=Severity.EXTREME,
    school_id="lincoln-hs",
    room_id=None,
    state=AlertState.RAISED,
    drill=True,
    raised_by=COORDINATOR,
    raised_at=T0,
    updated_at=T0,
    version=1,
)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def event(kind: str, seconds: float, actor: Actor, **data: Any) -> AlertEvent:
    return AlertEvent(EventType(kind), ALERT, actor, at(seconds), data=data)


def room_report(seconds: float, room: str | None, status: str = "secured", **data: Any) -> Any:
    """A RoomReported event as the roll records it (`alertd.core.roll.report_data`)."""
    payload = {"room_id": room, "group": None, "status": status, "students_present": 24}
    payload |= {"missing": [], "injured": [], "extra": []} | data
    return event("RoomReported", seconds, TEACHER, **payload)


def delivery(name: str, state: DeliveryState, queued: float, settled: float, **kw: Any) -> Delivery:
    return Delivery(
        id=hash(name) % 1000,
        alert_id="a-1",
        school_id="lincoln-hs",
        recipient_id=name.lower(),
        recipient_name=name,
        recipient_kind="sro",
        channel=kw.pop("channel", Channel.SMS),
        address="+15555550111",
        about="AlertRaised",
        drill=True,
        state=state,
        attempts=1,
        error=kw.pop("error", None),
        created_at=at(queued),
        updated_at=at(settled),
        **kw,
    )


EVENTS = [
    event("AlertRaised", 0, COORDINATOR),
    event("AlertAcknowledged", 42, DISPATCHER),
    event("AlertAcknowledged", 50, SRO),
    event("ResponderStatusReported", 60, DISPATCHER, status="on_scene"),  # not an SRO
    event("ResponderStatusReported", 95, SRO, status="en_route"),
    room_report(100, "r1"),
    room_report(130, None, group="Field B"),  # a group: no room
    event("ResponderStatusReported", 180, SRO, status="on_scene"),
    room_report(200, "r2", status="needs_help", injured=["A. Student"]),
    room_report(230, "r1"),  # again: counted once
    event("AllClearGiven", 600, SRO),
]
DELIVERIES = [
    delivery("Garcia", DeliveryState.DELIVERED, 0.5, 3.5),
    delivery("Brooks", DeliveryState.UNDELIVERED, 0.5, 8, error="unreachable", error_code=30003),
    delivery("Garcia", DeliveryState.DELIVERED, 61, 81, channel=Channel.VOICE),
    delivery("Chen", DeliveryState.SENT, 1, 2),
]


def _report(events: list[Any] = EVENTS) -> Report:
    alert = replace(ALERT, responders=(Responder(SRO, ResponderStatus.ON_SCENE, at(180)),))
    return build_report(alert, events, DELIVERIES, ROOMS, now=at(900))


def test_metrics_match_the_known_timings() -> None:
    report = _report()
    assert report.first_acknowledgement == timedelta(seconds=42)
    assert report.first_acknowledged_by == "Dee Dispatch"
    assert report.sro_on_scene == timedelta(seconds=180)  # the dispatcher's does not count
    assert report.sro_on_scene_name == "Officer Riley"
    assert report.all_rooms_accounted is None  # r3 never reported
    assert report.rooms_accounted == ("r1", "r2")
    assert [r.id for r in report.rooms_never_reported] == ["r3"]
    assert [r.id for r in report.rooms_needing_help] == ["r2"]
    assert report.ended_at == at(600) and report.duration == timedelta(seconds=600)
    assert [(p.offset.total_seconds(), p.accounted) for p in report.roll] == [
        (0, 0),
        (100, 1),
        (200, 2),
    ]


def test_all_rooms_accounted_is_the_moment_the_last_one_reports() -> None:
    report = _report([*EVENTS, room_report(420, "r3")])
    assert report.all_rooms_accounted == timedelta(seconds=420)
    assert report.rooms_never_reported == ()


def test_deliveries_per_recipient_with_their_times_and_failures() -> None:
    lines = {(d.recipient_name, d.channel): d for d in _report().deliveries}
    assert lines[("Garcia", Channel.SMS)].settled_after == timedelta(seconds=3)
    assert lines[("Garcia", Channel.VOICE)].settled_after == timedelta(seconds=20)
    assert lines[("Garcia", Channel.VOICE)].queued_after == timedelta(seconds=61)
    assert lines[("Chen", Channel.SMS)].settled_after is None  # sent, not settled
    failed = _report().delivery_failures
    assert [(d.recipient_name, d.error_code) for d in failed] == [("Brooks", 30003)]


def test_the_roll_counts_names_and_never_carries_them() -> None:
    reports = room_reports_in(EVENTS)
    assert [(r.room_id, r.group, len(r.injured)) for r in reports[:3]] == [
        ("r1", None, 0),
        (None, "Field B", 0),
        ("r2", None, 1),
    ]
    assert "A. Student" not in str(report_to_dict(_report()))


def test_json_carries_the_metrics_in_seconds() -> None:
    data = report_to_dict(_report())
    assert data["metrics"]["first_acknowledgement_seconds"] == 42
    assert data["metrics"]["sro_on_scene_seconds"] == 180
    assert data["metrics"]["rooms_accounted"] == 2 and data["metrics"]["rooms_expected"] == 3
    assert data["rooms_never_reported"] == [{"id": "r3", "label": "103 Gym"}]
    assert data["rooms_needing_help"] == [{"id": "r2", "label": "Room 102 - Library"}]
    assert data["room_reports"][2]["injured"] == 1
    assert data["drill"] is True


def test_charts_are_well_formed_svg_with_a_dot_per_event_and_the_roll_steps() -> None:
    report = _report()
    svg = "{http://www.w3.org/2000/svg}"
    timeline = ET.fromstring(timeline_chart(report))
    assert len(timeline.findall(f"{svg}circle")) == len(EVENTS)
    rows = [t.text for t in timeline.findall(f"{svg}text") if t.text and "reports" in t.text]
    assert rows == ["room reports (4)"]  # the roll's reports share one row
    roll = ET.fromstring(roll_chart(report))
    (line,) = roll.findall(f"{svg}polyline")
    heights = {float(p.split(",")[1]) for p in line.get("points", "").split()}
    assert len(heights) == 3  # 0, 1 and 2 rooms


def test_html_shows_drill_metrics_charts_and_escapes_text() -> None:
    hostile = event("NoteAdded", 300, TEACHER)
    page = report_html(_report([*EVENTS, replace(hostile, note="<script>x</script>")]))
    assert "DRILL" in page and page.count("<svg") == 2
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "42 s" in page and "3 min 00 s" in page  # first acknowledgement, SRO on scene
    assert "+3:00" in page and "and 4 room reports" in page
    real = report_html(build_report(replace(ALERT, drill=False), EVENTS, [], ROOMS, now=at(900)))
    assert "banner real" in real


def test_csv_has_a_row_per_metric_room_event_and_delivery() -> None:
    rows = list(csv.DictReader(io.StringIO(report_csv(_report()))))
    metric = {r["name"]: r["value"] for r in rows if r["section"] == "metric"}
    assert metric["first_acknowledgement_seconds"] == "42.0"
    assert metric["all_rooms_accounted_seconds"] == ""
    assert [r["name"] for r in rows if r["section"] == "room_never_reported"] == ["r3"]
    assert sum(r["section"] == "event" for r in rows) == len(EVENTS)
    assert sum(r["section"] == "delivery" for r in rows) == len(DELIVERIES)


def test_an_upgrade_to_another_action_starts_a_new_roll() -> None:
    upgraded = replace(
        event("AlertUpgraded", 150, SRO, from_kind="lockdown", to_kind="evacuate"),
        alert=replace(ALERT, kind=AlertKind.EVACUATE, destination="Field B"),
    )
    events = [*EVENTS[:6], upgraded, room_report(160, "r3")]  # r1 reported at 100, before
    report = _report(events)
    assert report.rooms_accounted == ("r3",)  # the lockdown's report says nothing of it
    assert [r.id for r in report.rooms_never_reported] == ["r1", "r2"]
