"""The roll as a fold over an alert's events, and when reminders fall due. Pure: no server."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from alertd.core.actor import Actor
from alertd.core.alert import Alert, AlertEvent, AlertState, EventType
from alertd.core.errors import IllegalTransition, ValidationFailed
from alertd.core.kind import AlertKind, Severity
from alertd.core.push import PushTarget
from alertd.core.roll import ReportRoll, RollStatus, fold_roll, record_report, view_roll
from alertd.core.roll_reminder import ReminderPolicy, decide_reminder, reminder_pushes
from alertd.core.site import Building, Floor, Room, RoomType, School

T0 = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
TEACHER = Actor("u-teacher", "Ms Rivera", role="staff")
OTHER = Actor("u-other", "Mr Chen", role="staff")
ROOMS = (
    Room("r-101", "101", "Room 101", RoomType.CLASSROOM, {}),
    Room("r-102", "102", "Lab 102", RoomType.LAB, {}),
    Room("r-100", "100", "Corridor", RoomType.CORRIDOR, {}),
    Room("r-103", "103", "Restroom", RoomType.RESTROOM, {}),
)
SCHOOL = School(
    "s", "School", "d", "UTC", None, (Building("b", "Main", (Floor("f1", "1", 0, {}, ROOMS),)),)
)
POLICY = ReminderPolicy(interval=timedelta(seconds=60), limit=2)


def alert(kind: AlertKind = AlertKind.LOCKDOWN, **changes: object) -> Alert:
    base = Alert(
        id="a1",
        kind=kind,
        severity=Severity.EXTREME,
        school_id="s",
        room_id=None,
        state=AlertState.RAISED,
        drill=False,
        raised_by=TEACHER,
        raised_at=T0,
        updated_at=T0,
        version=1,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def raised(kind: AlertKind = AlertKind.LOCKDOWN) -> AlertEvent:
    return AlertEvent(EventType.ALERT_RAISED, alert(kind), TEACHER, T0)


def reported(room: str | None, status: str = "secured", *, at: int = 10, by: Actor = TEACHER,
             group: str | None = None, present: int = 20) -> AlertEvent:  # fmt: skip
    command = ReportRoll(room_id=room, group=group, status=status, students_present=present)
    return record_report(alert(), command, school=SCHOOL, actor=by, now=T0 + timedelta(seconds=at))


def test_the_rooms_expected_are_those_where_people_are_taught() -> None:
    view = view_roll(fold_roll("a1", [raised()]), SCHOOL, now=T0)
    assert view.unreported == ("r-101", "r-102")
    assert view.counts[RollStatus.NOT_REPORTED] == 2


def test_a_later_report_supersedes_and_keeps_the_rooms_first_order() -> None:
    events = [raised(), reported("r-101"), reported("r-102"), reported("r-101", "needs_help")]
    roll = fold_roll("a1", events)
    assert [(e.room_id, e.status) for e in roll.entries] == [
        ("r-101", RollStatus.NEEDS_HELP),
        ("r-102", RollStatus.SECURED),
    ]
    view = view_roll(roll, SCHOOL, now=T0 + timedelta(seconds=90))
    assert view.unreported == () and view.since_seconds == 90
    assert (view.counts[RollStatus.NEEDS_HELP], view.counts[RollStatus.SECURED]) == (1, 1)


def test_a_report_from_a_room_not_expected_and_a_group_are_shown_too() -> None:
    roll = fold_roll("a1", [raised(), reported("r-103"), reported(None, group="Bus 4")])
    view = view_roll(roll, SCHOOL, now=T0)
    extra = [line for line in view.rooms if not line.expected]
    assert [(line.room.id, line.status) for line in extra] == [("r-103", RollStatus.SECURED)]
    assert [g.group for g in view.groups] == ["Bus 4"]
    assert view.unreported == ("r-101", "r-102")


def test_an_upgrade_to_another_kind_with_a_roll_starts_a_new_roll() -> None:
    shelter = raised(AlertKind.SHELTER)
    later = T0 + timedelta(seconds=40)
    upgraded = AlertEvent(
        EventType.ALERT_UPGRADED, alert(AlertKind.LOCKDOWN, version=3), TEACHER, later
    )
    roll = fold_roll("a1", [shelter, reported("r-101"), upgraded])
    assert (roll.started_at, roll.entries, roll.kind) == (later, (), AlertKind.LOCKDOWN)


def test_a_kind_without_a_roll_and_a_closed_alert_refuse_reports() -> None:
    command = ReportRoll(room_id="r-101", group=None, status="secured", students_present=1)
    with pytest.raises(IllegalTransition) as refused:
        record_report(alert(AlertKind.MEDICAL), command, school=SCHOOL, actor=TEACHER, now=T0)
    assert refused.value.cause == "roll_not_kept"
    closed = alert(state=AlertState.ALL_CLEAR)
    with pytest.raises(IllegalTransition) as refused:
        record_report(closed, command, school=SCHOOL, actor=TEACHER, now=T0)
    assert refused.value.cause == "alert_closed"


@pytest.mark.parametrize(
    ("command", "field"),
    [
        (ReportRoll(None, None, "secured", 1), "room_id"),
        (ReportRoll("r-101", "g", "secured", 1), "group"),
        (ReportRoll("r-101", None, "ok", 1), "status"),
        (ReportRoll("r-101", None, "secured", -2), "students_present"),
        (ReportRoll("r-101", None, "secured", True), "students_present"),
        (ReportRoll("r-101", None, "secured", 1, missing=("A", " ")), "missing.1"),
        (ReportRoll("r-999", None, "secured", 1), "room_id"),
    ],
)
def test_bad_reports_name_the_field(command: ReportRoll, field: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        record_report(alert(), command, school=SCHOOL, actor=TEACHER, now=T0)
    assert refused.value.field == field


def test_reminders_fall_due_after_the_interval_then_after_each_reminder_up_to_the_limit() -> None:
    events = [raised(), reported("r-101")]
    at = T0
    due = []
    for _ in range(4):
        roll = fold_roll("a1", events)
        decision = decide_reminder(alert(), view_roll(roll, SCHOOL, now=at), POLICY, now=at)
        assert decision.event is None
        if decision.next_at is None:
            break
        at = decision.next_at
        decision = decide_reminder(alert(), view_roll(roll, SCHOOL, now=at), POLICY, now=at)
        assert decision.event is not None
        assert decision.event.data == {
            "room_ids": ["r-102"],
            "since_seconds": int((at - T0).total_seconds()),
        }
        due.append(int((at - T0).total_seconds()))
        events.append(decision.event)
    assert due == [60, 120]


def test_a_roll_everyone_reported_is_not_reminded() -> None:
    roll = fold_roll("a1", [raised(), reported("r-101"), reported("r-102")])
    at = T0 + timedelta(seconds=61)
    decision = decide_reminder(alert(), view_roll(roll, SCHOOL, now=at), POLICY, now=at)
    assert decision.event is None and decision.next_at == at + POLICY.interval


def target(user: str, role: str) -> PushTarget:
    return PushTarget(user, user, role, f"{user}-phone", "https://push.test/x", "k", "a")


def test_reminder_pushes_go_to_staff_who_have_not_reported() -> None:
    roll = fold_roll("a1", [raised(), reported("r-101", by=TEACHER)])
    at = T0 + timedelta(seconds=60)
    decision = decide_reminder(alert(), view_roll(roll, SCHOOL, now=at), POLICY, now=at)
    assert decision.event is not None
    targets = (
        target(TEACHER.id, "staff"),
        target(OTHER.id, "staff"),
        target("u-sro", "sro"),
        target("u-coord", "drill_coordinator"),
    )
    pushes = reminder_pushes(decision.event, roll=roll, school_name="School", targets=targets)
    assert sorted(p.recipient_id for p in pushes) == ["u-coord", OTHER.id]
    assert all(p.about == "RollReminder" for p in pushes)
    assert '"room_ids":["r-102"]' in pushes[0].payload
