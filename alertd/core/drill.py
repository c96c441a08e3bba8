"""Drill plans: a coordinator schedules a drill, starts it (which raises the drill alert) and
ends it. Pure: the app passes `now`, the school's recipients and the alert as it stands.

    scheduled ──start──▶ running ──end──▶ ended
        └──cancel──▶ cancelled

A plan's alert is a drill for its whole life (`drill=True`, fixed at raise), and it carries
its plan (`DrillLink`): which of the school's test contacts this drill may text, and whether
staff apps are pushed. A plan only ever narrows who a drill reaches, never widens it: only
recipients marked as test contacts in the site document can be chosen.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType

from alertd.core.actor import Actor
from alertd.core.alert import Alert, AlertState
from alertd.core.command import (
    AlertCommand,
    Cancel,
    GiveAllClear,
    RaiseAlert,
    Resolve,
    check_kind_details,
    clean_note,
)
from alertd.core.drill_link import DrillAudience, DrillLink
from alertd.core.errors import IllegalTransition, ValidationFailed
from alertd.core.kind import AlertKind, Hazard, Scope, policy_of
from alertd.core.routing import Audience, Recipient
from alertd.core.source import AlertSource

MAX_TEST_CONTACTS = 50
# A drill may be scheduled this far back (entered after the fact) and this far ahead.
SCHEDULE_PAST = timedelta(days=366)
SCHEDULE_AHEAD = timedelta(days=2 * 366)


class DrillState(StrEnum):
    SCHEDULED = "scheduled"
    RUNNING = "running"
    ENDED = "ended"
    CANCELLED = "cancelled"


class DrillAction(StrEnum):
    START = "start"
    END = "end"
    CANCEL = "cancel"


TRANSITIONS: Mapping[tuple[DrillState, DrillAction], DrillState] = MappingProxyType(
    {
        (DrillState.SCHEDULED, DrillAction.START): DrillState.RUNNING,
        (DrillState.SCHEDULED, DrillAction.CANCEL): DrillState.CANCELLED,
        (DrillState.RUNNING, DrillAction.END): DrillState.ENDED,
    }
)


@dataclass(frozen=True, slots=True)
class ScheduleDrill:
    """Schedule a drill. `test_contacts` empty: every test contact of the school."""

    kind: AlertKind
    school_id: str
    scheduled_for: datetime
    audience: DrillAudience = DrillAudience.SCHOOL
    test_contacts: tuple[str, ...] = ()
    room_id: str | None = None
    destination: str | None = None
    hazard: Hazard | None = None
    note: str | None = None

    def normalize(self, *, now: datetime) -> ScheduleDrill:
        destination, hazard = check_kind_details(
            self.kind, destination=self.destination, hazard=self.hazard
        )
        if self.scheduled_for.tzinfo is None:
            raise ValidationFailed("scheduled_for", "scheduled_for needs a time zone offset")
        if not now - SCHEDULE_PAST <= self.scheduled_for <= now + SCHEDULE_AHEAD:
            raise ValidationFailed("scheduled_for", "scheduled_for is more than a year away")
        contacts = tuple(dict.fromkeys(c.strip() for c in self.test_contacts))
        if "" in contacts:
            raise ValidationFailed("test_contacts", "a test contact id is empty")
        if len(contacts) > MAX_TEST_CONTACTS:
            raise ValidationFailed("test_contacts", f"at most {MAX_TEST_CONTACTS} test contacts")
        return replace(
            self,
            destination=destination,
            hazard=hazard,
            test_contacts=contacts,
            note=clean_note(self.note),
        )


@dataclass(frozen=True, slots=True)
class DrillPlan:
    id: str
    school_id: str
    kind: AlertKind
    scheduled_for: datetime
    audience: DrillAudience
    test_contacts: tuple[str, ...]  # empty: every test contact of the school
    state: DrillState
    created_by: Actor
    created_at: datetime
    updated_at: datetime
    room_id: str | None = None
    destination: str | None = None
    hazard: Hazard | None = None
    note: str | None = None
    alert_id: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    held: bool | None = None  # once ended: did the drill take place (see `end`)

    @property
    def link(self) -> DrillLink:
        return DrillLink(self.id, self.audience, self.test_contacts or None)


def check_test_contacts(contacts: Iterable[str], recipients: Iterable[Recipient]) -> None:
    """Every chosen contact must be one of the school's test contacts."""
    allowed = {r.id for r in recipients if r.test_contact}
    for contact in contacts:
        if contact not in allowed:
            raise ValidationFailed(
                "test_contacts", f"{contact!r} is not a test contact of the school"
            )


def schedule(
    command: ScheduleDrill,
    *,
    plan_id: str,
    actor: Actor,
    now: datetime,
    recipients: Iterable[Recipient],
) -> DrillPlan:
    """A new plan, scheduled. `command` must be normalized; `recipients` are the school's."""
    check_test_contacts(command.test_contacts, recipients)
    return DrillPlan(
        id=plan_id,
        school_id=command.school_id,
        kind=command.kind,
        scheduled_for=command.scheduled_for,
        audience=command.audience,
        test_contacts=command.test_contacts,
        state=DrillState.SCHEDULED,
        created_by=actor,
        created_at=now,
        updated_at=now,
        room_id=command.room_id,
        destination=command.destination,
        hazard=command.hazard,
        note=command.note,
    )


def _move(plan: DrillPlan, action: DrillAction, now: datetime) -> DrillPlan:
    target = TRANSITIONS.get((plan.state, action))
    if target is None:
        raise IllegalTransition(action=f"{action.value} the drill", current_state=plan.state)
    return replace(plan, state=target, updated_at=now)


def start(plan: DrillPlan, *, alert_id: str, now: datetime) -> tuple[DrillPlan, RaiseAlert]:
    """Start the drill: the plan running, and the drill alert to raise (as `alert_id`)."""
    started = replace(_move(plan, DrillAction.START, now), alert_id=alert_id, started_at=now)
    command = RaiseAlert(
        kind=plan.kind,
        school_id=plan.school_id,
        room_id=plan.room_id,
        note=plan.note,
        drill=True,
        destination=plan.destination,
        hazard=plan.hazard,
        source=AlertSource.CONSOLE,
        drill_link=plan.link,
    )
    return started, command


def end(
    plan: DrillPlan, alert: Alert | None, *, now: datetime
) -> tuple[DrillPlan, AlertCommand | None]:
    """End the drill: the plan ended, and the command that closes its alert (None when the
    alert is closed already): the all clear for a campus-wide kind, resolve for a room, or,
    while nobody has acknowledged it yet (the lifecycle allows nothing else), a cancel.

    `held` records whether the drill took place (it counts towards compliance): yes when
    the coordinator ends it or it ended with an all clear or resolve, no when its alert was
    cancelled (a drill called off).
    """
    ended = replace(_move(plan, DrillAction.END, now), ended_at=now)
    if alert is None or not alert.state.is_open:
        held = alert is not None and alert.state in (AlertState.ALL_CLEAR, AlertState.RESOLVED)
        return replace(ended, held=held), None
    ended = replace(ended, held=True)
    if alert.state is AlertState.RAISED:
        return ended, Cancel(reason="drill ended by its coordinator before anyone acknowledged")
    note = "drill ended by its coordinator"
    if policy_of(alert.kind).scope is Scope.CAMPUS:
        return ended, GiveAllClear(note=note)
    return ended, Resolve(note=note)


def cancel(plan: DrillPlan, *, now: datetime) -> DrillPlan:
    """Call off a drill that has not started."""
    return replace(_move(plan, DrillAction.CANCEL, now), ended_at=now)


def narrow_audience(audience: Audience, link: DrillLink | None) -> Audience:
    """The audience of a drill alert raised from a plan: test contacts the plan did not
    choose are no longer test contacts (so routing keeps them out), and a communications
    test pushes nobody's app."""
    if link is None:
        return audience
    chosen = None if link.contacts is None else frozenset(link.contacts)
    recipients = tuple(
        r if chosen is None or r.id in chosen else replace(r, test_contact=False)
        for r in audience.recipients
    )
    pushes = audience.push_targets if link.audience is DrillAudience.SCHOOL else ()
    return replace(audience, recipients=recipients, push_targets=pushes)
