"""Escalation policy as data, on a fake clock: steps in order, each once, stop on answer."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from alertd.core.actor import Actor
from alertd.core.alert import AlertState
from alertd.core.command import Acknowledge, Cancel, RaiseAlert
from alertd.core.delivery import Channel
from alertd.core.effect import PlaceCall, SendSms
from alertd.core.escalation import (
    Escalation,
    EscalationState,
    Policy,
    Step,
    default_policy,
    fire,
    start,
)
from alertd.core.kind import AlertKind
from alertd.core.lifecycle import decide, raise_alert
from alertd.core.routing import Audience, Recipient, RecipientKind
from alertd.testing.clock import FakeClock

AUDIENCE = Audience(
    school_name="Lincoln High School",
    place=None,
    recipients=(
        Recipient("sro", "Officer Garcia", RecipientKind.SRO, "+15555550111", test_contact=True),
        Recipient("pd", "Riverside PD", RecipientKind.AGENCY, "+15555550100"),
        Recipient("chief", "Security chief", RecipientKind.AGENCY, "+15555550103", backup=True),
    ),
)
POLICY = Policy(
    (
        Step(("agency",), Channel.VOICE, timedelta(seconds=60), repeats=1),
        Step(("backup", "sro"), Channel.SMS, timedelta(seconds=30)),
    )
)
TEACHER = Actor("t-1", "Ms. Rivera", role="staff")


def raised(clock: FakeClock, *, drill: bool = False):  # type: ignore[no-untyped-def]
    decision = raise_alert(
        RaiseAlert(kind=AlertKind.LOCKDOWN, school_id="lincoln-hs", drill=drill),
        alert_id="a-1",
        actor=TEACHER,
        now=clock.now(),
        audience=AUDIENCE,
    )
    return decision.alert


def run_due(escalation: Escalation, alert, clock: FakeClock) -> list[tuple[int, str, str]]:  # type: ignore[no-untyped-def]
    """Fire every firing due by the clock's time; (seconds since start, channel, recipient)."""
    sent = []
    while escalation.due_at is not None and escalation.due_at <= clock.now():
        at = int((escalation.due_at - escalation.started_at).total_seconds())
        fired = fire(escalation, alert, AUDIENCE, now=clock.now())
        for effect in fired.effects:
            channel = "voice" if isinstance(effect, PlaceCall) else "sms"
            sent.append((at, channel, effect.recipient_id))
        escalation = fired.escalation
    run_due.last = escalation  # type: ignore[attr-defined]
    return sent


def test_steps_fire_in_order_each_once_at_their_times() -> None:
    clock = FakeClock()
    alert = raised(clock)
    escalation = start(alert, POLICY, now=clock.now())
    clock.advance(59)
    assert run_due(escalation, alert, clock) == []
    clock.advance(1)
    assert run_due(escalation, alert, clock) == [(60, "voice", "pd")]
    escalation = run_due.last  # type: ignore[attr-defined]
    clock.advance(60)
    assert run_due(escalation, alert, clock) == [(120, "voice", "pd")]
    escalation = run_due.last  # type: ignore[attr-defined]
    clock.advance(30)
    assert run_due(escalation, alert, clock) == [(150, "sms", "sro"), (150, "sms", "chief")]
    assert run_due.last.state is EscalationState.DONE  # type: ignore[attr-defined]


def test_a_late_run_takes_every_overdue_firing_once_in_order_not_shifted() -> None:
    clock = FakeClock()
    alert = raised(clock)
    escalation = start(alert, POLICY, now=clock.now())
    clock.advance(1000)  # the service was down for a while
    assert [s[:2] for s in run_due(escalation, alert, clock)] == [
        (60, "voice"),
        (120, "voice"),
        (150, "sms"),
        (150, "sms"),
    ]


def test_the_first_acknowledgement_stops_it_for_good() -> None:
    clock = FakeClock()
    alert = raised(clock)
    escalation = start(alert, POLICY, now=clock.now())
    clock.advance(60)
    assert run_due(escalation, alert, clock) == [(60, "voice", "pd")]
    escalation = run_due.last  # type: ignore[attr-defined]
    acked = decide(
        alert, Acknowledge(), actor=Actor("pd", "PD"), now=clock.now(), audience=AUDIENCE
    )
    clock.advance(600)
    fired = fire(escalation, acked.alert, AUDIENCE, now=clock.now())
    assert fired.effects == ()
    assert (fired.escalation.state, fired.escalation.reason) == (
        EscalationState.STOPPED,
        "acknowledged",
    )
    assert fire(fired.escalation, alert, AUDIENCE, now=clock.now()).effects == ()


def test_a_cancelled_alert_never_escalates() -> None:
    clock = FakeClock()
    alert = raised(clock)
    cancelled = decide(
        alert, Cancel(reason="false alarm"), actor=TEACHER, now=clock.now(), audience=AUDIENCE
    ).alert
    assert cancelled.state is AlertState.CANCELLED
    escalation = start(alert, POLICY, now=clock.now())
    clock.advance(60)
    fired = fire(escalation, cancelled, AUDIENCE, now=clock.now())
    assert (fired.effects, fired.escalation.reason) == ((), "cancelled")


def test_a_drill_escalates_to_test_contacts_only() -> None:
    clock = FakeClock()
    alert = raised(clock, drill=True)
    escalation = start(alert, POLICY, now=clock.now())
    clock.advance(1000)
    assert run_due(escalation, alert, clock) == [(150, "sms", "sro")]


def test_escalation_texts_say_nobody_answered_and_ask_for_1() -> None:
    clock = FakeClock()
    alert = raised(clock)
    escalation = replace(start(alert, POLICY, now=clock.now()), position=2)
    clock.advance(150)
    fired = fire(escalation, alert, AUDIENCE, now=clock.now())
    texts = [e for e in fired.effects if isinstance(e, SendSms)]
    assert texts and all(
        t.body.startswith("EMERGENCY: NOT YET ACKNOWLEDGED: LOCKDOWN") for t in texts
    )
    assert all(t.body.endswith("Reply 1 to acknowledge.") for t in texts)


def test_kinds_that_involve_agencies_call_them_by_default() -> None:
    steps = default_policy(AlertKind.LOCKDOWN).steps
    assert (steps[0].targets, steps[0].channel) == (("agency",), Channel.VOICE)
    assert "agency" not in {t for s in default_policy(AlertKind.HOLD).steps for t in s.targets}
