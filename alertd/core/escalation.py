"""Escalation: who else is told, and how, while nobody acknowledges an alert. Pure data.

A policy (per school and kind) is an ordered list of steps. Each step names its targets, a
channel, the delay after the step before it (the first: after the alert was raised) and
how many times it repeats (each repeat after the same delay). For example:

    1. after 60 s: call the agencies (voice), once more 60 s later if still nobody answered
    2. after 60 s more: text and call the backups (the backup agency, the security chief)

The escalation of one alert is a row with the next firing and its due time. Firing a step
(`fire`) looks at the alert first: once anyone has acknowledged it (or it is closed) the
escalation stops for good, and nothing is sent. Due times are counted from the start of the
escalation, not from the last firing, so a late firing (a restart) does not push the others
back; each firing is taken exactly once, in order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType

from alertd.core.actor import Actor, ActorKind
from alertd.core.alert import Alert, AlertState
from alertd.core.delivery import Channel
from alertd.core.effect import Effect
from alertd.core.errors import ValidationFailed
from alertd.core.kind import AlertKind, policy_of
from alertd.core.notice import Notice, NoticeType
from alertd.core.routing import (
    Audience,
    Recipient,
    RecipientKind,
    call_script,
    call_to,
    reachable,
    text_about,
    text_to,
)

# Targets that name a group rather than one recipient by id.
GROUP_TARGETS = frozenset({*(k.value for k in RecipientKind), "backup"})
MAX_STEPS = 20
MAX_REPEATS = 10
MAX_DELAY = timedelta(hours=24)

ESCALATION_ACTOR = Actor(
    id="system:escalation", name="alertd escalation", kind=ActorKind.SYSTEM, role="system"
)


@dataclass(frozen=True, slots=True)
class Step:
    """Reach `targets` on `channel`, `after` the previous step, `1 + repeats` times.

    A target is a recipient kind ("sro", "school_admin", "agency"), "backup" (every backup
    contact of the school), or the id of one recipient.
    """

    targets: tuple[str, ...]
    channel: Channel
    after: timedelta
    repeats: int = 0

    def normalize(self, *, field: str = "steps") -> Step:
        if not self.targets:
            raise ValidationFailed(field, "a step needs at least one target")
        if not timedelta(0) <= self.after <= MAX_DELAY:
            raise ValidationFailed(field, "a step's delay is between 0 s and 24 h")
        if not 0 <= self.repeats <= MAX_REPEATS:
            raise ValidationFailed(field, f"a step repeats at most {MAX_REPEATS} times")
        return self


@dataclass(frozen=True, slots=True)
class Policy:
    steps: tuple[Step, ...]

    def firings(self) -> tuple[Firing, ...]:
        """Every firing in order, with its offset from the start of the escalation."""
        firings: list[Firing] = []
        offset = timedelta(0)
        for index, step in enumerate(self.steps):
            for repeat in range(step.repeats + 1):
                offset += step.after
                firings.append(Firing(index, repeat, offset))
        return tuple(firings)


@dataclass(frozen=True, slots=True)
class Firing:
    step: int
    repeat: int
    offset: timedelta


# Without a policy of its own, a school escalates kinds that involve agencies like this.
_AGENCY_DEFAULT = Policy(
    (
        Step(("agency",), Channel.VOICE, timedelta(seconds=60), repeats=1),
        Step(("backup",), Channel.SMS, timedelta(seconds=60)),
        Step(("backup",), Channel.VOICE, timedelta(0)),
    )
)
# ... and the others (hold, shelter, staff assist): the school's own people, texted again.
_SCHOOL_PEOPLE = (RecipientKind.SRO.value, RecipientKind.SCHOOL_ADMIN.value)
_SCHOOL_DEFAULT = Policy((Step(_SCHOOL_PEOPLE, Channel.SMS, timedelta(seconds=120)),))
DEFAULT_POLICIES: Mapping[bool, Policy] = MappingProxyType(
    {True: _AGENCY_DEFAULT, False: _SCHOOL_DEFAULT}
)


def default_policy(kind: AlertKind) -> Policy:
    return DEFAULT_POLICIES[policy_of(kind).notifies_agencies]


class EscalationState(StrEnum):
    ACTIVE = "active"
    STOPPED = "stopped"  # acknowledged, or the alert closed: never again
    DONE = "done"  # every step ran


@dataclass(frozen=True, slots=True)
class Escalation:
    """The escalation of one alert: `position` is the next firing, due at `due_at`."""

    alert_id: str
    school_id: str
    policy: Policy
    started_at: datetime
    position: int
    due_at: datetime | None
    state: EscalationState
    reason: str | None = None


def start(alert: Alert, policy: Policy, *, now: datetime) -> Escalation:
    """A new escalation for an alert just raised (or upgraded): its first firing is due
    after the first step's delay."""
    firings = policy.firings()
    if not firings:
        return Escalation(alert.id, alert.school_id, policy, now, 0, None, EscalationState.DONE)
    due = now + firings[0].offset
    return Escalation(alert.id, alert.school_id, policy, now, 0, due, EscalationState.ACTIVE)


def stop_reason(alert: Alert) -> str | None:
    """Why an escalation must not go on, or None while nobody has answered."""
    if alert.state is AlertState.RAISED:
        return None
    if alert.state.is_open:
        return "acknowledged"
    return alert.state.value


@dataclass(frozen=True, slots=True)
class Fired:
    """What one due firing did: the escalation afterwards, what to send, what to log."""

    escalation: Escalation
    effects: tuple[Effect, ...]
    notices: tuple[Notice, ...]


def fire(escalation: Escalation, alert: Alert, audience: Audience, *, now: datetime) -> Fired:
    """Take the due firing: stop if someone answered (or the alert closed), else reach the
    step's targets and schedule the next firing. Call only when `due_at <= now`."""
    if escalation.state is not EscalationState.ACTIVE:
        return Fired(escalation, (), ())
    reason = stop_reason(alert)
    if reason is not None:
        stopped = replace(escalation, state=EscalationState.STOPPED, due_at=None, reason=reason)
        return Fired(stopped, (), (_notice(stopped, alert, now, {"stopped": reason}),))
    firings = escalation.policy.firings()
    firing = firings[escalation.position]
    step = escalation.policy.steps[firing.step]
    recipients = targets_of(step, audience, drill=alert.drill)
    about = f"Escalation step {firing.step + 1}"
    effects = _reach(step.channel, recipients, alert, audience, about=about)
    position = escalation.position + 1
    if position < len(firings):
        after = replace(
            escalation, position=position, due_at=escalation.started_at + firings[position].offset
        )
    else:
        after = replace(escalation, position=position, due_at=None, state=EscalationState.DONE)
    data = {
        "step": firing.step + 1,
        "repeat": firing.repeat,
        "channel": step.channel.value,
        "targets": list(step.targets),
        "recipients": [r.name for r in recipients],
    }
    return Fired(after, effects, (_notice(after, alert, now, data),))


def targets_of(step: Step, audience: Audience, *, drill: bool) -> tuple[Recipient, ...]:
    """The recipients a step names, minus those the drill rule keeps out. A kind ("agency")
    names the recipients of that kind who are not backups; backups come by "backup" or id."""
    named = set(step.targets)
    chosen = (
        r
        for r in audience.recipients
        if r.id in named or (r.backup and "backup" in named) or (not r.backup and r.kind in named)
    )
    return reachable(chosen, drill=drill)


def _reach(
    channel: Channel,
    recipients: tuple[Recipient, ...],
    alert: Alert,
    audience: Audience,
    *,
    about: str,
) -> tuple[Effect, ...]:
    effects: list[Effect | None]
    if channel is Channel.VOICE:
        script = call_script(alert, audience)
        effects = [call_to(r, alert, script, about=about) for r in recipients]
    else:
        body = text_about(alert, audience, headline="NOT YET ACKNOWLEDGED: {kind}", ask=True)
        effects = [text_to(r, alert, body, about=about) for r in recipients]
    return tuple(e for e in effects if e is not None)


def _notice(
    escalation: Escalation, alert: Alert, now: datetime, data: Mapping[str, object]
) -> Notice:
    return Notice(
        type=NoticeType.ESCALATED,
        at=now,
        actor=ESCALATION_ACTOR,
        school_id=alert.school_id,
        alert_id=alert.id,
        drill=alert.drill,
        data={**data, "state": escalation.state.value},
    )
