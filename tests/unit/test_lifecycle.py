"""The alert lifecycle, checked against a transition matrix written out here independently.

Every state x every action x both scopes (room-scoped medical, campus-wide lockdown).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from alertd.core.actor import Actor
from alertd.core.alert import Alert, AlertState, EventType, ResponderStatus
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
)
from alertd.core.errors import IllegalTransition, ValidationFailed
from alertd.core.kind import AlertKind, Hazard, Scope, Severity
from alertd.core.lifecycle import decide, raise_alert
from alertd.core.routing import Audience
from alertd.testing.clock import FakeClock

# "-" is illegal; "x/room" is legal only for room-scoped alerts, "x/campus" only campus-wide.
MATRIX = """
state         acknowledge   report_status  resolve         cancel     give_all_clear    add_note      upgrade
raised        acknowledged  responding     -               cancelled  -                 raised        raised
acknowledged  acknowledged  responding     resolved/room   cancelled  all_clear/campus  acknowledged  raised
responding    responding    responding     resolved/room   cancelled  all_clear/campus  responding    raised
resolved      -             -              -               -          -                 resolved      -
cancelled     -             -              -               -          -                 cancelled     -
all_clear     -             -              -               -          -                 all_clear     -
"""


def _expected() -> dict[tuple[AlertState, AlertAction, Scope], AlertState | None]:
    header, *rows = [line.split() for line in MATRIX.strip().splitlines()]
    actions = [AlertAction(name) for name in header[1:]]
    expected: dict[tuple[AlertState, AlertAction, Scope], AlertState | None] = {}
    for state_name, *cells in rows:
        for action, cell in zip(actions, cells, strict=True):
            for scope in Scope:
                target, _, only = cell.partition("/")
                legal = target != "-" and (not only or only == scope.value)
                key = (AlertState(state_name), action, scope)
                expected[key] = AlertState(target) if legal else None
    return expected


EXPECTED = _expected()
RAISER = Actor(id="teacher-1", name="Ms. Rivera")
SRO = Actor(id="sro-1", name="Officer Garcia", role="sro")
AUDIENCE = Audience(school_name="Lincoln High School", place="Room 101")
clock = FakeClock()

KIND_FOR_SCOPE = {Scope.ROOM: AlertKind.MEDICAL, Scope.CAMPUS: AlertKind.LOCKDOWN}


def alert_in(state: AlertState, scope: Scope) -> Alert:
    raised = raise_alert(
        RaiseAlert(kind=KIND_FOR_SCOPE[scope], school_id="lincoln-hs", room_id="r-101"),
        alert_id="a-1",
        actor=RAISER,
        now=clock.now(),
        audience=AUDIENCE,
    ).alert
    return replace(raised, state=state)


def command_for(action: AlertAction, scope: Scope) -> AlertCommand:
    return {
        AlertAction.ACKNOWLEDGE: Acknowledge(note="on it"),
        AlertAction.REPORT_STATUS: ReportStatus(status=ResponderStatus.EN_ROUTE),
        AlertAction.RESOLVE: Resolve(note="student ok"),
        AlertAction.CANCEL: Cancel(reason="button pressed by mistake"),
        AlertAction.GIVE_ALL_CLEAR: GiveAllClear(),
        AlertAction.ADD_NOTE: AddNote(text="doors 3 and 4 checked"),
        # medical (severe) -> lockdown (extreme); lockdown (extreme) -> fire (extreme)
        AlertAction.UPGRADE: Upgrade(
            kind=AlertKind.LOCKDOWN if scope is Scope.ROOM else AlertKind.FIRE
        ),
    }[action]


@pytest.mark.parametrize(
    ("state", "action", "scope"),
    sorted(EXPECTED, key=str),
    ids=lambda v: str(v.value) if hasattr(v, "value") else str(v),
)
def test_transition_matrix(state: AlertState, action: AlertAction, scope: Scope) -> None:
    alert = alert_in(state, scope)
    target = EXPECTED[(state, action, scope)]
    command = command_for(action, scope)
    if target is None:
        with pytest.raises(IllegalTransition) as caught:
            decide(alert, command, actor=SRO, now=clock.now(), audience=AUDIENCE)
        assert caught.value.current_state == state.value
        assert state.value in str(caught.value)
        return
    decision = decide(alert, command, actor=SRO, now=clock.now(), audience=AUDIENCE)
    assert decision.alert.state is target
    (event,) = decision.events
    assert event.actor == SRO
    assert event.at == clock.now()
    assert event.alert == decision.alert
    assert decision.alert.version == alert.version + 1


def test_every_state_and_action_is_covered() -> None:
    assert {(s, a) for s, a, _ in EXPECTED} == {(s, a) for s in AlertState for a in AlertAction}


def test_transitions_record_actor_time_and_note() -> None:
    alert = alert_in(AlertState.RAISED, Scope.ROOM)
    later = clock.now().replace(minute=5)
    decision = decide(
        alert, Acknowledge(note="  coming  "), actor=SRO, now=later, audience=AUDIENCE
    )
    (event,) = decision.events
    assert (event.type, event.actor, event.at, event.note) == (
        EventType.ALERT_ACKNOWLEDGED,
        SRO,
        later,
        "coming",
    )
    assert decision.alert.updated_at == later
    assert decision.alert.responders[0].status is ResponderStatus.ACKNOWLEDGED


def test_drill_is_fixed_at_raise_and_carried_on_every_event() -> None:
    decision = raise_alert(
        RaiseAlert(kind=AlertKind.STAFF_ASSIST, school_id="s", room_id="r", drill=True),
        alert_id="d-1",
        actor=RAISER,
        now=clock.now(),
        audience=AUDIENCE,
    )
    alert = decision.alert
    events = list(decision.events)
    for command in (Acknowledge(), Upgrade(kind=AlertKind.LOCKDOWN), Acknowledge(), GiveAllClear()):
        step = decide(alert, command, actor=SRO, now=clock.now(), audience=AUDIENCE)
        alert = step.alert
        events += step.events
    assert alert.kind is AlertKind.LOCKDOWN
    assert [e.drill for e in events] == [True] * 5


def test_acknowledging_twice_changes_nothing_but_a_second_responder_is_recorded() -> None:
    alert = alert_in(AlertState.RAISED, Scope.ROOM)
    first = decide(alert, Acknowledge(), actor=SRO, now=clock.now(), audience=AUDIENCE)
    again = decide(first.alert, Acknowledge(), actor=SRO, now=clock.now(), audience=AUDIENCE)
    assert again.events == () and again.alert == first.alert
    other = Actor(id="sro-2", name="Officer Chen", role="sro")
    second = decide(first.alert, Acknowledge(), actor=other, now=clock.now(), audience=AUDIENCE)
    assert [r.actor.id for r in second.alert.responders] == ["sro-1", "sro-2"]


def test_responders_report_en_route_then_on_scene_each_on_their_own() -> None:
    alert = alert_in(AlertState.ACKNOWLEDGED, Scope.ROOM)
    other = Actor(id="sro-2", name="Officer Chen", role="sro")
    for actor, status in ((SRO, "en_route"), (other, "en_route"), (SRO, "on_scene")):
        alert = decide(
            alert,
            ReportStatus(status=ResponderStatus(status)),
            actor=actor,
            now=clock.now(),
            audience=AUDIENCE,
        ).alert
    assert alert.state is AlertState.RESPONDING
    assert {r.actor.id: r.status.value for r in alert.responders} == {
        "sro-1": "on_scene",
        "sro-2": "en_route",
    }


def test_status_must_be_en_route_or_on_scene() -> None:
    alert = alert_in(AlertState.ACKNOWLEDGED, Scope.ROOM)
    with pytest.raises(ValidationFailed) as caught:
        decide(
            alert,
            ReportStatus(status=ResponderStatus.ACKNOWLEDGED),
            actor=SRO,
            now=clock.now(),
            audience=AUDIENCE,
        )
    assert caught.value.field == "status"


def test_cancel_needs_a_reason() -> None:
    alert = alert_in(AlertState.RAISED, Scope.CAMPUS)
    with pytest.raises(ValidationFailed) as caught:
        decide(alert, Cancel(reason="   "), actor=SRO, now=clock.now(), audience=AUDIENCE)
    assert caught.value.field == "reason"
    done = decide(
        alert, Cancel(reason="false alarm"), actor=SRO, now=clock.now(), audience=AUDIENCE
    )
    assert done.alert.cancel_reason == "false alarm"


def test_upgrade_changes_kind_and_severity_of_the_same_alert_and_needs_new_acknowledgement() -> (
    None
):
    alert = alert_in(AlertState.ACKNOWLEDGED, Scope.ROOM)
    alert = replace(alert, kind=AlertKind.STAFF_ASSIST, severity=Severity.MODERATE)
    acked = decide(alert, Acknowledge(), actor=SRO, now=clock.now(), audience=AUDIENCE).alert
    decision = decide(
        acked, Upgrade(kind=AlertKind.LOCKDOWN), actor=SRO, now=clock.now(), audience=AUDIENCE
    )
    upgraded = decision.alert
    assert (upgraded.id, upgraded.kind, upgraded.severity, upgraded.state) == (
        alert.id,
        AlertKind.LOCKDOWN,
        Severity.EXTREME,
        AlertState.RAISED,
    )
    assert upgraded.responders == ()
    assert decision.events[0].data == {"from_kind": "staff_assist", "to_kind": "lockdown"}


@pytest.mark.parametrize("kind", [AlertKind.HOLD, AlertKind.STAFF_ASSIST, AlertKind.LOCKDOWN])
def test_upgrade_to_a_less_severe_or_the_same_kind_is_refused(kind: AlertKind) -> None:
    alert = alert_in(AlertState.RAISED, Scope.CAMPUS)  # lockdown, extreme
    with pytest.raises(ValidationFailed) as caught:
        decide(alert, Upgrade(kind=kind), actor=SRO, now=clock.now(), audience=AUDIENCE)
    assert caught.value.field == "kind"


@pytest.mark.parametrize(
    ("kind", "destination", "hazard", "field"),
    [
        (AlertKind.EVACUATE, None, None, "destination"),
        (AlertKind.SHELTER, None, None, "hazard"),
        (AlertKind.LOCKDOWN, "football field", None, "destination"),
        (AlertKind.MEDICAL, None, Hazard.TORNADO, "hazard"),
    ],
)
def test_evacuate_needs_a_destination_and_shelter_a_hazard(
    kind: AlertKind, destination: str | None, hazard: Hazard | None, field: str
) -> None:
    command = RaiseAlert(
        kind=kind, school_id="s", room_id=None, destination=destination, hazard=hazard
    )
    with pytest.raises(ValidationFailed) as caught:
        raise_alert(command, alert_id="x", actor=RAISER, now=clock.now(), audience=AUDIENCE)
    assert caught.value.field == field


def test_evacuate_and_shelter_carry_their_details() -> None:
    evacuate = raise_alert(
        RaiseAlert(kind=AlertKind.EVACUATE, school_id="s", destination=" football field "),
        alert_id="e",
        actor=RAISER,
        now=clock.now(),
        audience=AUDIENCE,
    ).alert
    shelter = raise_alert(
        RaiseAlert(kind=AlertKind.SHELTER, school_id="s", hazard=Hazard.TORNADO),
        alert_id="s",
        actor=RAISER,
        now=clock.now(),
        audience=AUDIENCE,
    ).alert
    assert evacuate.destination == "football field"
    assert shelter.hazard is Hazard.TORNADO
