"""Kinds know their severity, scope and reach; routing keeps drills to test contacts."""

from __future__ import annotations

from dataclasses import replace
from zoneinfo import ZoneInfo

import pytest

from alertd.core.actor import Actor
from alertd.core.command import Cancel, RaiseAlert
from alertd.core.effect import SendSms
from alertd.core.kind import KIND_POLICIES, AlertKind, Hazard, Scope, Severity
from alertd.core.lifecycle import decide, raise_alert
from alertd.core.routing import Audience, Recipient, RecipientKind
from alertd.testing.clock import FakeClock

AUDIENCE = Audience(
    school_name="Lincoln High School",
    place="Room 101 Biology Lab, Main Building, Floor 1",
    recipients=(
        Recipient("sro-1", "Officer Garcia", RecipientKind.SRO, "+15555550111", test_contact=True),
        Recipient(
            "principal", "Dr. Brooks", RecipientKind.SCHOOL_ADMIN, "+15555550113", test_contact=True
        ),
        Recipient("sro-2", "Officer Chen", RecipientKind.SRO, "+15555550112"),  # not for drills
        Recipient("pd", "Riverside PD", RecipientKind.AGENCY, "+15555550100"),
        Recipient("no-phone", "Vice principal", RecipientKind.SCHOOL_ADMIN, None),
    ),
    timezone=ZoneInfo("America/Chicago"),
    console_url="https://alertd.example/console",
)
TEACHER = Actor(id="t-1", name="Ms. Rivera", role="staff")
clock = FakeClock()


def texts(kind: AlertKind, *, drill: bool, note: str | None = None) -> list[SendSms]:
    command = RaiseAlert(
        kind=kind,
        school_id="lincoln-hs",
        room_id="r-101",
        drill=drill,
        note=note,
        destination="football field" if kind is AlertKind.EVACUATE else None,
        hazard=Hazard.TORNADO if kind is AlertKind.SHELTER else None,
    )
    decision = raise_alert(
        command, alert_id="a-1", actor=TEACHER, now=clock.now(), audience=AUDIENCE
    )
    return list(decision.effects)


def test_every_kind_has_a_policy() -> None:
    assert set(KIND_POLICIES) == set(AlertKind)


@pytest.mark.parametrize(
    ("kind", "severity", "scope", "agencies"),
    [
        (AlertKind.HOLD, Severity.MODERATE, Scope.CAMPUS, False),
        (AlertKind.SECURE, Severity.SEVERE, Scope.CAMPUS, True),
        (AlertKind.LOCKDOWN, Severity.EXTREME, Scope.CAMPUS, True),
        (AlertKind.EVACUATE, Severity.SEVERE, Scope.CAMPUS, True),
        (AlertKind.SHELTER, Severity.SEVERE, Scope.CAMPUS, False),
        (AlertKind.MEDICAL, Severity.SEVERE, Scope.ROOM, True),
        (AlertKind.FIRE, Severity.EXTREME, Scope.ROOM, True),
        (AlertKind.STAFF_ASSIST, Severity.MODERATE, Scope.ROOM, False),
    ],
)
def test_kind_policy(kind: AlertKind, severity: Severity, scope: Scope, agencies: bool) -> None:
    policy = KIND_POLICIES[kind]
    assert (policy.severity, policy.scope, policy.notifies_agencies) == (severity, scope, agencies)
    reached = {t.recipient_id for t in texts(kind, drill=False)}
    assert ("pd" in reached) is agencies
    assert {"sro-1", "principal"} <= reached


@pytest.mark.parametrize("kind", list(AlertKind))
def test_a_drill_reaches_test_contacts_only_and_says_drill(kind: AlertKind) -> None:
    sent = texts(kind, drill=True)
    assert {t.recipient_id for t in sent} == {"sro-1", "principal"}  # not sro-2, not the PD
    assert all(t.drill and t.body.startswith("DRILL —") for t in sent)


def test_a_test_contact_agency_takes_drills_but_a_real_one_never() -> None:
    test_line = Recipient(
        "pd-drills", "PD drill line", RecipientKind.AGENCY, "+15555550199", test_contact=True
    )
    audience = replace(AUDIENCE, recipients=(*AUDIENCE.recipients, test_line))
    decision = raise_alert(
        RaiseAlert(kind=AlertKind.LOCKDOWN, school_id="lincoln-hs", drill=True),
        alert_id="a-9",
        actor=TEACHER,
        now=clock.now(),
        audience=audience,
    )
    assert {e.recipient_id for e in decision.effects} == {"sro-1", "principal", "pd-drills"}


def test_a_real_alert_says_emergency_and_never_drill() -> None:
    sent = texts(AlertKind.LOCKDOWN, drill=False)
    assert sent and all(t.body.startswith("EMERGENCY: LOCKDOWN") for t in sent)
    assert not any("DRILL" in t.body for t in sent)


def test_the_text_says_what_where_when_who_and_how_to_answer() -> None:
    body = texts(AlertKind.LOCKDOWN, drill=False)[0].body
    assert body == (
        "EMERGENCY: LOCKDOWN at Lincoln High School, Room 101 Biology Lab, Main Building, "
        "Floor 1. Raised 03:00 by staff. Console: https://alertd.example/console/alerts/a-1 "
        "Reply 1 to acknowledge."
    )  # 08:00 UTC is 03:00 in Chicago


def test_agencies_are_told_only_of_the_kinds_they_take_and_backups_never_at_first() -> None:
    fire_only = Recipient(
        "fd",
        "Fire",
        RecipientKind.AGENCY,
        "+15555550101",
        alert_kinds=frozenset({AlertKind.FIRE, AlertKind.MEDICAL}),
    )
    backup = Recipient("chief", "Security chief", RecipientKind.AGENCY, "+15555550103", backup=True)
    audience = replace(AUDIENCE, recipients=(*AUDIENCE.recipients, fire_only, backup))

    def reached(kind: AlertKind) -> set[str]:
        decision = raise_alert(
            RaiseAlert(kind=kind, school_id="lincoln-hs"),
            alert_id="a-3",
            actor=TEACHER,
            now=clock.now(),
            audience=audience,
        )
        return {e.recipient_id for e in decision.effects}

    assert "fd" not in reached(AlertKind.LOCKDOWN) and "fd" in reached(AlertKind.FIRE)
    assert "chief" not in reached(AlertKind.LOCKDOWN) | reached(AlertKind.FIRE)


def test_one_number_listed_twice_gets_one_text() -> None:
    again = Recipient("user:u-1", "Officer Garcia", RecipientKind.SRO, "+15555550111")
    audience = replace(AUDIENCE, recipients=(*AUDIENCE.recipients, again))
    decision = raise_alert(
        RaiseAlert(kind=AlertKind.LOCKDOWN, school_id="lincoln-hs"),
        alert_id="a-4",
        actor=TEACHER,
        now=clock.now(),
        audience=audience,
    )
    numbers = [e.to for e in decision.effects]
    assert len(numbers) == len(set(numbers))


def test_recipients_without_a_phone_are_skipped() -> None:
    assert "no-phone" not in {t.recipient_id for t in texts(AlertKind.LOCKDOWN, drill=False)}


def test_free_text_notes_never_reach_a_text() -> None:
    sent = texts(AlertKind.MEDICAL, drill=False, note="Jamie T. collapsed, asthma")
    assert sent and not any("Jamie" in t.body for t in sent)


def test_cancelling_tells_the_same_people_it_was_cancelled() -> None:
    raised = raise_alert(
        RaiseAlert(kind=AlertKind.LOCKDOWN, school_id="lincoln-hs"),
        alert_id="a-2",
        actor=TEACHER,
        now=clock.now(),
        audience=AUDIENCE,
    )
    cancelled = decide(
        raised.alert,
        Cancel(reason="false alarm"),
        actor=TEACHER,
        now=clock.now(),
        audience=AUDIENCE,
    )
    assert {t.recipient_id for t in cancelled.effects} == {t.recipient_id for t in raised.effects}
    assert all("CANCELLED LOCKDOWN" in t.body for t in cancelled.effects)
