"""The alert lifecycle as an explicit transition table, and the pure `decide` functions.

raised -> acknowledged -> responding (per responder: en_route / on_scene) -> resolved
any open state -> cancelled (false alarm, with a reason)
campus-wide alerts end with an all clear instead of being resolved
an upgrade (say staff_assist -> lockdown) updates the same alert and puts it back to raised,
because the new kind reaches new people who have not acknowledged it yet.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import MappingProxyType

from alertd.core.actor import Actor
from alertd.core.alert import (
    Alert,
    AlertEvent,
    AlertState,
    EventType,
    Responder,
    ResponderStatus,
)
from alertd.core.command import (
    Acknowledge,
    AddNote,
    AlertAction,
    AlertCommand,
    Cancel,
    GiveAllClear,
    RaiseAlert,
    ReportStatus,
    Resolve,
    Upgrade,
    check_kind_details,
    clean_note,
)
from alertd.core.effect import Effect
from alertd.core.errors import IllegalTransition, ValidationFailed
from alertd.core.kind import Scope, policy_of
from alertd.core.routing import Audience, effects_for
from alertd.core.source import AlertSource


@dataclass(frozen=True, slots=True)
class Transition:
    target: AlertState
    only_scope: Scope | None = None  # the command applies only to alerts of this scope


_R, _A, _P = AlertState.RAISED, AlertState.ACKNOWLEDGED, AlertState.RESPONDING

TRANSITIONS: Mapping[tuple[AlertState, AlertAction], Transition] = MappingProxyType(
    {
        (_R, AlertAction.ACKNOWLEDGE): Transition(_A),
        (_R, AlertAction.REPORT_STATUS): Transition(_P),
        (_R, AlertAction.CANCEL): Transition(AlertState.CANCELLED),
        (_R, AlertAction.UPGRADE): Transition(_R),
        (_R, AlertAction.ADD_NOTE): Transition(_R),
        (_A, AlertAction.ACKNOWLEDGE): Transition(_A),
        (_A, AlertAction.REPORT_STATUS): Transition(_P),
        (_A, AlertAction.RESOLVE): Transition(AlertState.RESOLVED, only_scope=Scope.ROOM),
        (_A, AlertAction.GIVE_ALL_CLEAR): Transition(AlertState.ALL_CLEAR, only_scope=Scope.CAMPUS),
        (_A, AlertAction.CANCEL): Transition(AlertState.CANCELLED),
        (_A, AlertAction.UPGRADE): Transition(_R),
        (_A, AlertAction.ADD_NOTE): Transition(_A),
        (_P, AlertAction.ACKNOWLEDGE): Transition(_P),
        (_P, AlertAction.REPORT_STATUS): Transition(_P),
        (_P, AlertAction.RESOLVE): Transition(AlertState.RESOLVED, only_scope=Scope.ROOM),
        (_P, AlertAction.GIVE_ALL_CLEAR): Transition(AlertState.ALL_CLEAR, only_scope=Scope.CAMPUS),
        (_P, AlertAction.CANCEL): Transition(AlertState.CANCELLED),
        (_P, AlertAction.UPGRADE): Transition(_R),
        (_P, AlertAction.ADD_NOTE): Transition(_P),
        # Closed alerts only take notes (for the after-action record).
        (AlertState.RESOLVED, AlertAction.ADD_NOTE): Transition(AlertState.RESOLVED),
        (AlertState.CANCELLED, AlertAction.ADD_NOTE): Transition(AlertState.CANCELLED),
        (AlertState.ALL_CLEAR, AlertAction.ADD_NOTE): Transition(AlertState.ALL_CLEAR),
    }
)

_WRONG_SCOPE_HINT = {
    Scope.ROOM: "it is campus-wide; give the all clear instead",
    Scope.CAMPUS: "it is room-scoped; resolve it instead",
}


@dataclass(frozen=True, slots=True)
class Decision:
    """What a command did: the alert afterwards, the events to record, the effects to run.

    No events means the command changed nothing (an acknowledgement repeated, say).
    """

    alert: Alert
    events: tuple[AlertEvent, ...]
    effects: tuple[Effect, ...]


def transition_for(alert: Alert, action: AlertAction) -> Transition:
    """Look the action up in the table, or raise IllegalTransition naming the current state."""
    transition = TRANSITIONS.get((alert.state, action))
    if transition is None:
        raise IllegalTransition(action=action.value, current_state=alert.state.value)
    scope = policy_of(alert.kind).scope
    if transition.only_scope is not None and transition.only_scope is not scope:
        raise IllegalTransition(
            action=action.value,
            current_state=alert.state.value,
            reason=_WRONG_SCOPE_HINT[transition.only_scope],
        )
    return transition


def raise_alert(
    command: RaiseAlert, *, alert_id: str, actor: Actor, now: datetime, audience: Audience
) -> Decision:
    """Open a new alert. `drill` is fixed here, for the alert's whole life."""
    command = command.normalize()
    alert = Alert(
        id=alert_id,
        kind=command.kind,
        severity=policy_of(command.kind).severity,
        school_id=command.school_id,
        room_id=command.room_id,
        state=AlertState.RAISED,
        drill=command.drill,
        raised_by=actor,
        raised_at=now,
        updated_at=now,
        version=1,
        destination=command.destination,
        hazard=command.hazard,
        source=command.source or AlertSource.API,
        drill_link=command.drill_link,
    )
    event = AlertEvent(
        EventType.ALERT_RAISED, alert, actor, now, command.note, _press_timing(command, now)
    )
    return Decision(alert, (event,), effects_for(event, audience))


def _press_timing(command: RaiseAlert, now: datetime) -> Mapping[str, str | int]:
    """When a device pressed, and how many whole seconds before alertd received it: a press
    delivered after an outage says so. A device clock slightly ahead counts as no delay."""
    if command.pressed_at is None:
        return {}
    pressed_at = min(command.pressed_at, now)
    delay = int((now - pressed_at).total_seconds())
    return {"pressed_at": pressed_at.isoformat(), "delay_seconds": delay}


def decide(
    alert: Alert, command: AlertCommand, *, actor: Actor, now: datetime, audience: Audience
) -> Decision:
    """Apply one command to an alert. Raises IllegalTransition or ValidationFailed."""
    transition = transition_for(alert, command.action)
    outcome = _interpret(alert, command, actor=actor, now=now)
    if outcome is None:
        return Decision(alert, (), ())
    after = replace(
        outcome.changed, state=transition.target, updated_at=now, version=alert.version + 1
    )
    event = AlertEvent(outcome.event_type, after, actor, now, outcome.note, outcome.data)
    return Decision(after, (event,), effects_for(event, audience))


@dataclass(frozen=True, slots=True)
class _Outcome:
    """What a command records: its event, the alert with the command's own changes, a note."""

    event_type: EventType
    changed: Alert
    note: str | None
    data: Mapping[str, str] = field(default_factory=dict)


def _interpret(
    alert: Alert, command: AlertCommand, *, actor: Actor, now: datetime
) -> _Outcome | None:
    """Per command: the event it records and what it changes; None if it changes nothing."""
    match command:
        case Acknowledge(note=note):
            if alert.responder(actor.id) is not None:
                return None  # acknowledging twice changes nothing
            responders = _with_responder(alert, actor, ResponderStatus.ACKNOWLEDGED, now)
            return _Outcome(
                EventType.ALERT_ACKNOWLEDGED,
                replace(alert, responders=responders),
                clean_note(note),
            )
        case ReportStatus(status=status, note=note):
            if status is ResponderStatus.ACKNOWLEDGED:
                raise ValidationFailed("status", "status must be en_route or on_scene")
            current = alert.responder(actor.id)
            if current is not None and current.status is status:
                return None
            responders = _with_responder(alert, actor, status, now)
            return _Outcome(
                EventType.RESPONDER_STATUS_REPORTED,
                replace(alert, responders=responders),
                clean_note(note),
                {"status": status.value},
            )
        case Resolve(note=note):
            return _Outcome(EventType.ALERT_RESOLVED, alert, clean_note(note))
        case Cancel(reason=given):
            reason = clean_note(given, field="reason", required=True)
            return _Outcome(EventType.ALERT_CANCELLED, replace(alert, cancel_reason=reason), reason)
        case GiveAllClear(note=note):
            return _Outcome(EventType.ALL_CLEAR_GIVEN, alert, clean_note(note))
        case AddNote(text=text):
            return _Outcome(
                EventType.NOTE_ADDED, alert, clean_note(text, field="text", required=True)
            )
        case Upgrade():
            return _upgrade(alert, command)
    raise AssertionError(f"unhandled command {command!r}")  # pragma: no cover


def _upgrade(alert: Alert, command: Upgrade) -> _Outcome:
    before, after = policy_of(alert.kind), policy_of(command.kind)
    if command.kind is alert.kind:
        raise ValidationFailed("kind", f"the alert is already {alert.kind}")
    if after.severity.rank < before.severity.rank:
        raise ValidationFailed(
            "kind", f"{command.kind} ({after.severity}) is less severe than {alert.kind}"
        )
    destination, hazard = check_kind_details(
        command.kind, destination=command.destination, hazard=command.hazard
    )
    changed = replace(
        alert,
        drill=alert.drill,  # a drill stays a drill: nothing upgrades it into a real alert
        kind=command.kind,
        severity=after.severity,
        destination=destination,
        hazard=hazard,
        responders=(),  # the new kind must be acknowledged afresh
    )
    data = {"from_kind": alert.kind.value, "to_kind": command.kind.value}
    return _Outcome(EventType.ALERT_UPGRADED, changed, clean_note(command.note), data)


def _with_responder(
    alert: Alert, actor: Actor, status: ResponderStatus, now: datetime
) -> tuple[Responder, ...]:
    others = tuple(r for r in alert.responders if r.actor.id != actor.id)
    return (*others, Responder(actor, status, now))
