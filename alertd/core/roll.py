"""Room accountability (the roll): during a lockdown, evacuation or shelter every room, or a
staff member with a group away from a room, reports secured or needs help, how many
students are present, and who is missing, injured or extra. Pure.

The roll is not stored apart: each report is a `RoomReported` event in the alert's own log,
each reminder a `RollReminder`, and the roll is a fold over the alert's events
(`fold_roll`). So it is durable, replays on a resumed stream, and is in every timeline.

- The roll starts when the alert is raised as a kind that keeps one (`KindPolicy.
  accountability`), or upgraded to one. An upgrade to another such kind (shelter ->
  lockdown) starts a new roll: "secured for a tornado" says nothing about a lockdown.
- A room's (or group's) later report supersedes its earlier one.
- Which rooms are expected to report: the school's rooms where people are taught or
  gather (`ACCOUNTED_ROOM_TYPES`); corridors, stairwells, restrooms and storage are not
  expected, but a report from one is taken and shown (someone sheltering there).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from alertd.core.actor import Actor
from alertd.core.alert import Alert, AlertEvent, EventType
from alertd.core.command import clean_note
from alertd.core.errors import IllegalTransition, ValidationFailed
from alertd.core.kind import AlertKind, policy_of
from alertd.core.site import RoomType, School

NAME_MAX_LENGTH = 120
NAMES_MAX = 200
GROUP_MAX_LENGTH = 120
STUDENTS_MAX = 10_000

# Rooms expected to report: where classes, groups or staff are during the school day.
ACCOUNTED_ROOM_TYPES = frozenset(
    {
        RoomType.CLASSROOM,
        RoomType.LAB,
        RoomType.OFFICE,
        RoomType.GYM,
        RoomType.CAFETERIA,
        RoomType.LIBRARY,
        RoomType.AUDITORIUM,
        RoomType.NURSE,
    }
)

REPORT_ROLL = "report roll"


class RollStatus(StrEnum):
    SECURED = "secured"
    NEEDS_HELP = "needs_help"
    NOT_REPORTED = "not_reported"  # only ever a room's status in a view, never reported


REPORTED_STATUSES = frozenset({RollStatus.SECURED, RollStatus.NEEDS_HELP})


def keeps_roll(kind: AlertKind) -> bool:
    """Does an alert of this kind keep a roll (lockdown, evacuate, shelter)?"""
    return policy_of(kind).accountability


@dataclass(frozen=True, slots=True)
class ReportRoll:
    """What one room, or one staff member's group, reports. Exactly one of `room_id` and
    `group` is given. `normalize` validates it and names the field at fault."""

    room_id: str | None
    group: str | None
    status: str
    students_present: int
    missing: tuple[str, ...] = ()
    injured: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()
    note: str | None = None

    def normalize(self) -> ReportRoll:
        room_id = (self.room_id or "").strip() or None
        group = " ".join((self.group or "").split()) or None
        if room_id is None and group is None:
            raise ValidationFailed("room_id", "name the room_id, or a group when not in a room")
        if room_id is not None and group is not None:
            raise ValidationFailed("group", "give a room_id or a group, not both")
        if group is not None and len(group) > GROUP_MAX_LENGTH:
            raise ValidationFailed("group", f"group is longer than {GROUP_MAX_LENGTH} characters")
        if self.status not in {s.value for s in REPORTED_STATUSES}:
            raise ValidationFailed("status", "status must be secured or needs_help")
        present = self.students_present
        if isinstance(present, bool) or not isinstance(present, int):
            raise ValidationFailed("students_present", "students_present must be a whole number")
        if not 0 <= present <= STUDENTS_MAX:
            raise ValidationFailed(
                "students_present", f"students_present must be from 0 to {STUDENTS_MAX}"
            )
        return ReportRoll(
            room_id=room_id,
            group=group,
            status=self.status,
            students_present=present,
            missing=_names(self.missing, "missing"),
            injured=_names(self.injured, "injured"),
            extra=_names(self.extra, "extra"),
            note=clean_note(self.note),
        )


def _names(names: Sequence[str], field_name: str) -> tuple[str, ...]:
    if len(names) > NAMES_MAX:
        raise ValidationFailed(field_name, f"{field_name} lists more than {NAMES_MAX} names")
    cleaned = []
    for index, name in enumerate(names):
        text = " ".join(str(name).split())
        if not text:
            raise ValidationFailed(f"{field_name}.{index}", "a name cannot be empty")
        if len(text) > NAME_MAX_LENGTH:
            raise ValidationFailed(
                f"{field_name}.{index}", f"a name is longer than {NAME_MAX_LENGTH} characters"
            )
        cleaned.append(text)
    return tuple(cleaned)


@dataclass(frozen=True, slots=True)
class RollEntry:
    """One report as it stands in the roll (the latest of its room or group)."""

    room_id: str | None
    group: str | None
    status: RollStatus
    students_present: int
    missing: tuple[str, ...]
    injured: tuple[str, ...]
    extra: tuple[str, ...]
    note: str | None
    reported_by: Actor
    reported_at: datetime

    @property
    def key(self) -> tuple[str, str]:
        return ("room", self.room_id) if self.room_id is not None else ("group", self.group or "")


@dataclass(frozen=True, slots=True)
class Roll:
    """The roll of one alert as its events left it.

    `started_at` None: the alert has never kept a roll. `kept`: it keeps one now (an open
    alert of an accountable kind). `entries`: the latest report per room and per group, in
    the order they first reported. `reminders`/`last_reminder_at`: of the current roll.
    """

    alert_id: str
    kind: AlertKind
    started_at: datetime | None
    kept: bool
    entries: tuple[RollEntry, ...] = ()
    reminders: int = 0
    last_reminder_at: datetime | None = None
    closed: bool = False

    def entry(self, *, room_id: str | None = None, group: str | None = None) -> RollEntry | None:
        key = ("room", room_id) if room_id is not None else ("group", group or "")
        return next((e for e in self.entries if e.key == key), None)

    @property
    def reporters(self) -> frozenset[str]:
        """The actor ids of everyone who has reported in the current roll."""
        return frozenset(e.reported_by.id for e in self.entries)


def fold_roll(alert_id: str, events: Sequence[AlertEvent]) -> Roll:
    """The roll after the alert's events, oldest first (its timeline)."""
    if not events:
        raise ValueError("an alert has at least its AlertRaised event")
    roll = Roll(alert_id=alert_id, kind=events[0].alert.kind, started_at=None, kept=False)
    for event in events:
        roll = _apply(roll, event)
    return roll


def _apply(roll: Roll, event: AlertEvent) -> Roll:
    alert = event.alert
    kept = keeps_roll(alert.kind) and alert.state.is_open
    match event.type:
        case EventType.ALERT_RAISED:
            started = event.at if keeps_roll(alert.kind) else None
            return replace(roll, kind=alert.kind, started_at=started, kept=kept)
        case EventType.ALERT_UPGRADED if alert.kind is not roll.kind:
            if not keeps_roll(alert.kind):
                return replace(roll, kind=alert.kind, kept=False)
            # A new action: a new roll (reports of the old one say nothing about it).
            return Roll(roll.alert_id, alert.kind, started_at=event.at, kept=kept)
        case EventType.ROOM_REPORTED:
            entry = entry_from_event(event)
            others = tuple(e for e in roll.entries if e.key != entry.key)
            if len(others) == len(roll.entries):
                return replace(roll, entries=(*roll.entries, entry))
            # Supersede in place, keeping the order rooms first reported in.
            entries = tuple(entry if e.key == entry.key else e for e in roll.entries)
            return replace(roll, entries=entries)
        case EventType.ROLL_REMINDER:
            return replace(roll, reminders=roll.reminders + 1, last_reminder_at=event.at)
    return replace(roll, kept=kept, closed=not alert.state.is_open)


def entry_from_event(event: AlertEvent) -> RollEntry:
    """The roll entry a RoomReported event records."""
    data = event.data
    return RollEntry(
        room_id=data.get("room_id"),
        group=data.get("group"),
        status=RollStatus(data["status"]),
        students_present=int(data["students_present"]),
        missing=tuple(data.get("missing", ())),
        injured=tuple(data.get("injured", ())),
        extra=tuple(data.get("extra", ())),
        note=event.note,
        reported_by=event.actor,
        reported_at=event.at,
    )


def report_data(command: ReportRoll) -> dict[str, Any]:
    """The `data` of a RoomReported event (plain JSON values)."""
    return {
        "room_id": command.room_id,
        "group": command.group,
        "status": command.status,
        "students_present": command.students_present,
        "missing": list(command.missing),
        "injured": list(command.injured),
        "extra": list(command.extra),
    }


def record_report(
    alert: Alert, command: ReportRoll, *, school: School | None, actor: Actor, now: datetime
) -> AlertEvent:
    """The RoomReported event for `command` (normalized first), and the alert after it.

    Raises IllegalTransition (409) for a kind that keeps no roll or a closed alert, and
    ValidationFailed for bad input or a room that is not the alert's school's.
    """
    command = command.normalize()
    check_roll_open(alert)
    if command.room_id is not None and (school is None or school.locate(command.room_id) is None):
        raise ValidationFailed("room_id", f"no room {command.room_id!r} at {alert.school_id}")
    after = touched(alert, now)
    return AlertEvent(
        EventType.ROOM_REPORTED, after, actor, now, command.note, report_data(command)
    )


def check_roll_open(alert: Alert) -> None:
    """Raise IllegalTransition unless the alert keeps a roll now."""
    if not keeps_roll(alert.kind):
        raise IllegalTransition(
            action=REPORT_ROLL,
            current_state=alert.state.value,
            reason=f"a {alert.kind.value} alert keeps no roll (only lockdown, evacuate, shelter)",
            cause="roll_not_kept",
        )
    if not alert.state.is_open:
        raise IllegalTransition(
            action=REPORT_ROLL,
            current_state=alert.state.value,
            reason="the alert is closed",
            cause="alert_closed",
        )


def touched(alert: Alert, now: datetime) -> Alert:
    """The alert after one more event (its version counts its events)."""
    return replace(alert, updated_at=now, version=alert.version + 1)


# --- the roll as people see it ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExpectedRoom:
    id: str
    name: str
    number: str
    building_id: str
    floor_id: str


def expected_rooms(school: School | None) -> tuple[ExpectedRoom, ...]:
    """The rooms of the school expected to report, in floor-plan order."""
    if school is None:
        return ()
    return tuple(
        ExpectedRoom(room.id, room.name, room.number, building.id, floor.id)
        for building, floor, room in school.places()
        if room.type in ACCOUNTED_ROOM_TYPES
    )


@dataclass(frozen=True, slots=True)
class RoomLine:
    """One room of the roll view: expected, or not expected but reported from."""

    room: ExpectedRoom
    status: RollStatus
    entry: RollEntry | None
    expected: bool


@dataclass(frozen=True, slots=True)
class RollView:
    roll: Roll
    rooms: tuple[RoomLine, ...]
    groups: tuple[RollEntry, ...]
    since_seconds: int | None
    counts: Mapping[RollStatus, int] = field(default_factory=dict)

    @property
    def unreported(self) -> tuple[str, ...]:
        return tuple(r.room.id for r in self.rooms if r.status is RollStatus.NOT_REPORTED)

    @property
    def expected(self) -> int:
        return sum(1 for r in self.rooms if r.expected)


def view_roll(roll: Roll, school: School | None, *, now: datetime) -> RollView:
    """The roll as the console and the staff app show it. A closed alert's roll is shown
    as it ended (`since_seconds` counts to now all the same)."""
    expected = expected_rooms(school)
    by_room = {e.room_id: e for e in roll.entries if e.room_id is not None}
    lines = [
        RoomLine(
            room,
            by_room[room.id].status if room.id in by_room else RollStatus.NOT_REPORTED,
            by_room.get(room.id),
            expected=True,
        )
        for room in expected
    ]
    expected_ids = {room.id for room in expected}
    others = {room.id: room for room in _all_rooms(school)}
    for entry in roll.entries:
        if entry.room_id is not None and entry.room_id not in expected_ids:
            room = others.get(entry.room_id) or ExpectedRoom(
                entry.room_id, entry.room_id, "", "", ""
            )
            lines.append(RoomLine(room, entry.status, entry, expected=False))
    groups = tuple(e for e in roll.entries if e.room_id is None)
    counts = {status: 0 for status in RollStatus}
    for line in lines:
        counts[line.status] += 1
    for group in groups:
        counts[group.status] += 1
    since = None
    if roll.started_at is not None:
        since = max(0, int((now - roll.started_at).total_seconds()))
    return RollView(roll, tuple(lines), groups, since, counts)


def _all_rooms(school: School | None) -> tuple[ExpectedRoom, ...]:
    if school is None:
        return ()
    return tuple(
        ExpectedRoom(room.id, room.name, room.number, building.id, floor.id)
        for building, floor, room in school.places()
    )
