"""Drill plans (core): the plan's states, what a plan narrows, and the rules that keep a
drill a drill: an upgrade never makes it real, and a real press never joins it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from alertd.core.actor import Actor
from alertd.core.alert import AlertState
from alertd.core.command import Cancel, GiveAllClear, RaiseAlert, Resolve, Upgrade
from alertd.core.drill import (
    TRANSITIONS,
    DrillAction,
    DrillPlan,
    DrillState,
    ScheduleDrill,
    cancel,
    end,
    narrow_audience,
    schedule,
    start,
)
from alertd.core.drill_link import DrillAudience, DrillLink
from alertd.core.effect import SendSms
from alertd.core.errors import IllegalTransition, ValidationFailed
from alertd.core.kind import AlertKind
from alertd.core.lifecycle import decide, raise_alert
from alertd.core.push import PushTarget
from alertd.core.repeat import repeated_alert
from alertd.core.routing import Audience, Recipient, RecipientKind

NOW = datetime(2026, 9, 14, 9, 0, tzinfo=UTC)
COORDINATOR = Actor(id="coord-1", name="Dana Drill", role="drill_coordinator")
RECIPIENTS = (
    Recipient("sro-1", "Officer Garcia", RecipientKind.SRO, "+15555550111", test_contact=True),
    Recipient(
        "principal", "Dr. Brooks", RecipientKind.SCHOOL_ADMIN, "+15555550113", test_contact=True
    ),
    Recipient("sro-2", "Officer Chen", RecipientKind.SRO, "+15555550112"),
    Recipient("pd", "Riverside PD", RecipientKind.AGENCY, "+15555550100"),
)
PUSH = (PushTarget("u-1", "Sam Staff", "staff", "d-1", "https://push.example/1", "key", "auth"),)
AUDIENCE = Audience("Lincoln High", None, RECIPIENTS, push_targets=PUSH)

# The plan's states, written out apart from the table: "-" is refused.
MATRIX = """
state      start    end    cancel
scheduled  running  -      cancelled
running    -        ended  -
ended      -        -      -
cancelled  -        -      -
"""


def _plan(**changes: object) -> DrillPlan:
    command = ScheduleDrill(
        kind=AlertKind.LOCKDOWN, school_id="lincoln-hs", scheduled_for=NOW + timedelta(days=1)
    ).normalize(now=NOW)
    plan = schedule(command, plan_id="plan-1", actor=COORDINATOR, now=NOW, recipients=RECIPIENTS)
    return replace(plan, **changes)  # type: ignore[arg-type]


def test_the_plan_table_matches_the_matrix() -> None:
    header, *rows = [line.split() for line in MATRIX.strip().splitlines()]
    actions = [DrillAction(a) for a in header[1:]]
    expected = {}
    for state, *cells in rows:
        for action, cell in zip(actions, cells, strict=True):
            if cell != "-":
                expected[(DrillState(state), action)] = DrillState(cell)
    assert dict(TRANSITIONS) == expected


def test_start_raises_a_drill_linked_to_its_plan_and_end_gives_the_all_clear() -> None:
    plan = _plan(test_contacts=("principal",))
    started, command = start(plan, alert_id="alert-1", now=NOW)
    assert started.state is DrillState.RUNNING and started.alert_id == "alert-1"
    assert command.drill is True
    assert command.drill_link == DrillLink("plan-1", DrillAudience.SCHOOL, ("principal",))
    decision = raise_alert(
        command.normalize(), alert_id="alert-1", actor=COORDINATOR, now=NOW, audience=AUDIENCE
    )
    assert decision.alert.drill and decision.alert.drill_link == command.drill_link
    acknowledged = replace(decision.alert, state=AlertState.ACKNOWLEDGED)
    ended, closing = end(started, acknowledged, now=NOW + timedelta(minutes=5))
    assert ended.state is DrillState.ENDED and ended.ended_at == NOW + timedelta(minutes=5)
    assert ended.held is True
    assert isinstance(closing, GiveAllClear)  # lockdown is campus-wide
    # Nobody acknowledged it: the lifecycle allows only a cancel, and the drill was held.
    unanswered, cancel_it = end(started, decision.alert, now=NOW)
    assert isinstance(cancel_it, Cancel) and unanswered.held is True
    room_plan = _plan(kind=AlertKind.MEDICAL, room_id="room-1")
    room_started, room_command = start(room_plan, alert_id="alert-2", now=NOW)
    room_alert = raise_alert(
        room_command.normalize(), alert_id="alert-2", actor=COORDINATOR, now=NOW, audience=AUDIENCE
    ).alert
    room_alert = replace(room_alert, state=AlertState.RESPONDING)
    assert isinstance(end(room_started, room_alert, now=NOW)[1], Resolve)
    closed = replace(decision.alert, state=AlertState.ALL_CLEAR)
    assert end(started, closed, now=NOW) == (replace(ended, ended_at=NOW, updated_at=NOW), None)
    called_off = replace(decision.alert, state=AlertState.CANCELLED)
    assert end(started, called_off, now=NOW)[0].held is False  # did not take place


def test_a_plan_moves_only_as_the_table_says() -> None:
    with pytest.raises(IllegalTransition):
        end(_plan(), None, now=NOW)
    started, _ = start(_plan(), alert_id="a", now=NOW)
    with pytest.raises(IllegalTransition):
        start(started, alert_id="b", now=NOW)
    with pytest.raises(IllegalTransition):
        cancel(started, now=NOW)
    assert cancel(_plan(), now=NOW).state is DrillState.CANCELLED


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"kind": AlertKind.EVACUATE}, "destination"),
        ({"hazard": None, "kind": AlertKind.SHELTER}, "hazard"),
        ({"scheduled_for": NOW + timedelta(days=900)}, "scheduled_for"),
        ({"scheduled_for": datetime(2026, 9, 20, 9, 0)}, "scheduled_for"),  # no offset
        ({"test_contacts": ("sro-1", " ")}, "test_contacts"),
    ],
)
def test_a_bad_plan_names_its_field(changes: dict[str, object], field: str) -> None:
    command = replace(
        ScheduleDrill(kind=AlertKind.LOCKDOWN, school_id="s", scheduled_for=NOW),
        **changes,  # type: ignore[arg-type]
    )
    with pytest.raises(ValidationFailed) as caught:
        command.normalize(now=NOW)
    assert caught.value.field == field


def test_a_plan_may_choose_only_test_contacts() -> None:
    command = ScheduleDrill(
        kind=AlertKind.LOCKDOWN, school_id="s", scheduled_for=NOW, test_contacts=("pd",)
    ).normalize(now=NOW)
    with pytest.raises(ValidationFailed) as caught:
        schedule(command, plan_id="p", actor=COORDINATOR, now=NOW, recipients=RECIPIENTS)
    assert caught.value.field == "test_contacts" and "pd" in caught.value.message


def _texted(link: DrillLink | None) -> set[str]:
    command = RaiseAlert(
        kind=AlertKind.LOCKDOWN, school_id="lincoln-hs", drill=True, drill_link=link
    ).normalize()
    audience = narrow_audience(AUDIENCE, link)
    decision = raise_alert(command, alert_id="a", actor=COORDINATOR, now=NOW, audience=audience)
    return {e.recipient_id for e in decision.effects if isinstance(e, SendSms)}


def test_a_plan_narrows_who_a_drill_reaches_and_never_widens_it() -> None:
    assert _texted(None) == {"sro-1", "principal"}
    assert _texted(DrillLink("p", contacts=("principal",))) == {"principal"}
    # Naming a contact who is not a test contact (refused at schedule) still reaches nobody.
    assert _texted(DrillLink("p", contacts=("pd", "sro-2"))) == set()
    communications_test = narrow_audience(AUDIENCE, DrillLink("p", DrillAudience.CONTACTS))
    assert communications_test.push_targets == ()
    assert narrow_audience(AUDIENCE, DrillLink("p")).push_targets == PUSH


def test_a_drill_link_needs_a_drill() -> None:
    with pytest.raises(ValidationFailed) as caught:
        RaiseAlert(kind=AlertKind.HOLD, school_id="s", drill_link=DrillLink("p")).normalize()
    assert caught.value.field == "drill"


def test_an_upgraded_drill_is_still_a_drill_and_texts_test_contacts_only() -> None:
    command = RaiseAlert(kind=AlertKind.HOLD, school_id="lincoln-hs", drill=True)
    drill = raise_alert(command, alert_id="a", actor=COORDINATOR, now=NOW, audience=AUDIENCE)
    upgraded = decide(
        drill.alert, Upgrade(kind=AlertKind.LOCKDOWN), actor=COORDINATOR, now=NOW, audience=AUDIENCE
    )
    assert upgraded.alert.kind is AlertKind.LOCKDOWN and upgraded.alert.drill is True
    assert all(e.drill for e in upgraded.events)
    texts = [e for e in upgraded.effects if isinstance(e, SendSms)]
    assert {t.recipient_id for t in texts} == {"sro-1", "principal"}
    assert all(t.body.startswith("DRILL —") and t.drill for t in texts)


def test_a_real_press_never_joins_a_drill_nor_a_drill_press_a_real_alert() -> None:
    drill = raise_alert(
        RaiseAlert(kind=AlertKind.LOCKDOWN, school_id="s", room_id="r", drill=True),
        alert_id="drill",
        actor=COORDINATOR,
        now=NOW,
        audience=AUDIENCE,
    ).alert
    real = replace(drill, id="real", drill=False)
    common = {"raiser_id": COORDINATOR.id, "room_id": "r", "kind": AlertKind.LOCKDOWN}
    later = NOW + timedelta(seconds=3)
    window = timedelta(seconds=10)
    assert repeated_alert([drill], **common, drill=False, now=later, window=window) is None
    assert repeated_alert([real], **common, drill=True, now=later, window=window) is None
    assert repeated_alert([drill], **common, drill=True, now=later, window=window) is drill
    assert repeated_alert([drill, real], **common, drill=False, now=later, window=window) is real
