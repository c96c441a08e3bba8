"""The after-action report of an alert, real or drill: what happened, how fast, who was not
reached and which rooms never reported. Pure: events, deliveries and the school's expected
rooms in, metrics out. Rendering (JSON, HTML with SVG charts, CSV) is in `adapters/report`.

Room accountability is the roll (`alertd.core.roll`): `RoomReported` events in the alert's
log, and the rooms the school expects to hear from (`expected_rooms`). A room counts as
accounted for from its first report, whatever its status; a group's report (at an
evacuation site, say) accounts for no room.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from alertd.core.alert import Alert, AlertEvent, EventType, ResponderStatus
from alertd.core.delivery import Channel, Delivery, DeliveryState
from alertd.core.roll import (
    ExpectedRoom,
    RollEntry,
    RollStatus,
    entry_from_event,
    keeps_roll,
)

SRO_ROLE = "sro"
_CLOSING = frozenset(
    {EventType.ALERT_RESOLVED, EventType.ALERT_CANCELLED, EventType.ALL_CLEAR_GIVEN}
)


def room_label(room: ExpectedRoom) -> str:
    """ "Room 109 – English", or "103 Main Office" when the name lacks the number."""
    return room.name if room.number in room.name else f"{room.number} {room.name}"


def roll_started_at(events: Iterable[AlertEvent]) -> datetime | None:
    """When the alert's current roll began: its raise, or its latest upgrade to another
    action that keeps a roll (the rule of `alertd.core.roll.fold_roll`, without folding
    every entry: a report reads thousands of events)."""
    started: datetime | None = None
    kind = None
    for event in events:
        if event.type is EventType.ALERT_RAISED:
            kind = event.alert.kind
            started = event.at if keeps_roll(kind) else None
        elif event.type is EventType.ALERT_UPGRADED and event.alert.kind is not kind:
            kind = event.alert.kind
            if keeps_roll(kind):
                started = event.at
    return started


def room_reports_in(events: Iterable[AlertEvent]) -> list[RollEntry]:
    """The reports of the alert's current roll (an upgrade to another action starts a new
    one), oldest first. Names are kept here; the renderers show only their counts."""
    events = list(events)
    started = roll_started_at(events)
    return [
        entry_from_event(e)
        for e in events
        if e.type is EventType.ROOM_REPORTED and (started is None or e.at >= started)
    ]


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    at: datetime
    offset: timedelta  # since the alert was raised
    type: str
    actor: str
    actor_role: str
    summary: str
    note: str | None = None


@dataclass(frozen=True, slots=True)
class RollPoint:
    """After `offset`, `accounted` of the expected rooms had reported."""

    offset: timedelta
    accounted: int


@dataclass(frozen=True, slots=True)
class DeliveryLine:
    """One text, call or push to one recipient, and how long it took to settle."""

    recipient_id: str
    recipient_name: str
    recipient_kind: str
    channel: Channel
    about: str
    state: DeliveryState
    queued_after: timedelta  # since the alert was raised
    settled_after: timedelta | None  # queued to final state (None: not final yet)
    error: str | None
    error_code: int | None

    @property
    def failed(self) -> bool:
        return self.state in (DeliveryState.FAILED, DeliveryState.UNDELIVERED)


@dataclass(frozen=True, slots=True)
class Report:
    alert: Alert
    generated_at: datetime
    ended_at: datetime | None  # resolved, cancelled or all clear (None: still open)
    first_acknowledgement: timedelta | None
    first_acknowledged_by: str | None
    sro_on_scene: timedelta | None
    sro_on_scene_name: str | None
    all_rooms_accounted: timedelta | None
    rooms_expected: tuple[ExpectedRoom, ...]
    rooms_accounted: tuple[str, ...]  # ids, in the order they first reported
    rooms_never_reported: tuple[ExpectedRoom, ...]
    rooms_needing_help: tuple[ExpectedRoom, ...]
    room_reports: tuple[RollEntry, ...]
    timeline: tuple[TimelineEntry, ...]
    roll: tuple[RollPoint, ...]
    deliveries: tuple[DeliveryLine, ...]
    school_name: str | None = None

    @property
    def delivery_failures(self) -> tuple[DeliveryLine, ...]:
        return tuple(d for d in self.deliveries if d.failed)

    @property
    def duration(self) -> timedelta:
        end = self.ended_at or self.generated_at
        return max(end - self.alert.raised_at, timedelta(0))


def _summary(event: AlertEvent) -> str:
    data = event.data
    match event.type:
        case EventType.ALERT_RAISED:
            kind = event.alert.kind.value.replace("_", " ")
            return f"{'drill ' if event.drill else ''}{kind} raised"
        case EventType.RESPONDER_STATUS_REPORTED:
            return f"{event.actor.name} {str(data.get('status', '')).replace('_', ' ')}"
        case EventType.ALERT_UPGRADED:
            return f"upgraded from {data.get('from_kind')} to {data.get('to_kind')}"
    if event.type is EventType.ROOM_REPORTED:
        place = data.get("room_id") or data.get("group") or "?"
        return f"{place} reported {str(data.get('status', '')).replace('_', ' ')}"
    return _words(event.type.value)


def _words(camel: str) -> str:
    return "".join(f" {c.lower()}" if c.isupper() else c for c in camel).strip()


def _first(events: Sequence[AlertEvent], predicate: Any) -> AlertEvent | None:
    return next((e for e in events if predicate(e)), None)


def _is_sro_on_scene(event: AlertEvent) -> bool:
    return (
        event.type is EventType.RESPONDER_STATUS_REPORTED
        and event.data.get("status") == ResponderStatus.ON_SCENE.value
        and event.actor.role == SRO_ROLE
    )


def _delivery_line(delivery: Delivery, raised_at: datetime) -> DeliveryLine:
    settled = delivery.state.is_final and delivery.state is not DeliveryState.RECORDED
    return DeliveryLine(
        recipient_id=delivery.recipient_id,
        recipient_name=delivery.recipient_name,
        recipient_kind=delivery.recipient_kind,
        channel=delivery.channel,
        about=delivery.about,
        state=delivery.state,
        queued_after=delivery.created_at - raised_at,
        settled_after=delivery.updated_at - delivery.created_at if settled else None,
        error=delivery.error,
        error_code=delivery.error_code,
    )


def build_report(
    alert: Alert,
    events: Sequence[AlertEvent],
    deliveries: Iterable[Delivery],
    expected: Sequence[ExpectedRoom],
    *,
    now: datetime,
    school_name: str | None = None,
) -> Report:
    """The report of `alert` from its events (oldest first), its delivery ledger and the
    rooms its school expects to report. `now` stands in for the end of an open alert."""
    raised = alert.raised_at
    events = sorted(events, key=lambda e: e.at)
    ack = _first(events, lambda e: e.type is EventType.ALERT_ACKNOWLEDGED)
    on_scene = _first(events, _is_sro_on_scene)
    closing = _first(events, lambda e: e.type in _CLOSING)
    reports = room_reports_in(events)

    by_id = {room.id: room for room in expected}
    accounted: dict[str, None] = {}  # ordered, as they first reported
    roll = [RollPoint(timedelta(0), 0)]
    all_accounted: timedelta | None = None
    for report in reports:
        if report.room_id in by_id and report.room_id not in accounted:
            accounted[report.room_id] = None
            roll.append(RollPoint(report.reported_at - raised, len(accounted)))
            if len(accounted) == len(by_id):
                all_accounted = report.reported_at - raised
    latest = {r.room_id: r for r in reports if r.room_id is not None and r.room_id in by_id}
    needing_help = tuple(
        room
        for room in expected
        if room.id in latest and latest[room.id].status is RollStatus.NEEDS_HELP
    )
    timeline = tuple(
        TimelineEntry(
            at=e.at,
            offset=e.at - raised,
            type=e.type.value,
            actor=e.actor.name,
            actor_role=e.actor.role,
            summary=_summary(e),
            note=e.note,
        )
        for e in events
    )
    lines = sorted(
        (_delivery_line(d, raised) for d in deliveries),
        key=lambda d: (d.queued_after, d.recipient_name, d.channel.value),
    )
    return Report(
        alert=alert,
        generated_at=now,
        ended_at=closing.at if closing else None,
        first_acknowledgement=ack.at - raised if ack else None,
        first_acknowledged_by=ack.actor.name if ack else None,
        sro_on_scene=on_scene.at - raised if on_scene else None,
        sro_on_scene_name=on_scene.actor.name if on_scene else None,
        all_rooms_accounted=all_accounted,
        rooms_expected=tuple(expected),
        rooms_accounted=tuple(accounted),
        rooms_never_reported=tuple(room for room in expected if room.id not in latest),
        rooms_needing_help=needing_help,
        room_reports=tuple(reports),
        timeline=timeline,
        roll=tuple(roll),
        deliveries=tuple(lines),
        school_name=school_name,
    )
