"""Roll reminders: when rooms that have not reported are reminded, and who hears of it. Pure.

The first reminder is due `interval` after the roll started, each next one `interval`
after the previous, up to `limit` reminders per roll. A reminder is a `RollReminder` event
in the alert's log (on every stream that sees the alert) and one Web Push per subscribed
browser of the school's staff who have not reported in this roll: alertd does not know
which teacher is in which room, so everyone who could be in an unreported room is asked.

The decision is taken from the alert's log under the alert's lock, so when two instances
hold the same timer (a claim taken over), the second finds the first's reminder in the log
and sends nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from alertd.core.actor import Actor, ActorKind
from alertd.core.alert import Alert, AlertEvent, EventType
from alertd.core.effect import SendPush
from alertd.core.push import PushTarget, pushes
from alertd.core.roll import Roll, RollView, touched

ROLL_ACTOR = Actor(id="system:roll", name="alertd roll", kind=ActorKind.SYSTEM, role="system")
# The roles asked to report by a reminder push (everyone else reads the roll).
REMINDED_ROLES = frozenset({"staff", "drill_coordinator"})


@dataclass(frozen=True, slots=True)
class ReminderPolicy:
    interval: timedelta
    limit: int = 3


@dataclass(frozen=True, slots=True)
class ReminderDecision:
    """`event`: the reminder to record now, if any. `next_at`: when to look again (None:
    never, the roll is over or its reminders are spent)."""

    event: AlertEvent | None
    next_at: datetime | None


def next_reminder_at(roll: Roll, policy: ReminderPolicy) -> datetime | None:
    """When the roll's next reminder falls due; None when it never will."""
    if not roll.kept or roll.started_at is None or roll.reminders >= policy.limit:
        return None
    return (roll.last_reminder_at or roll.started_at) + policy.interval


def decide_reminder(
    alert: Alert, view: RollView, policy: ReminderPolicy, *, now: datetime
) -> ReminderDecision:
    """Remind the unreported rooms if a reminder is due at `now`."""
    roll = view.roll
    due = next_reminder_at(roll, policy)
    if due is None:
        return ReminderDecision(None, None)
    if now < due:
        return ReminderDecision(None, due)
    unreported = view.unreported
    if not unreported:
        # Everyone has reported; look again later (a room may yet be superseded, the
        # alert upgraded), without reminding.
        return ReminderDecision(None, now + policy.interval)
    assert roll.started_at is not None  # next_reminder_at said the roll is kept
    since = max(0, int((now - roll.started_at).total_seconds()))
    after = touched(alert, now)
    event = AlertEvent(
        EventType.ROLL_REMINDER,
        after,
        ROLL_ACTOR,
        now,
        None,
        {"room_ids": list(unreported), "since_seconds": since},
    )
    reminded = replace(roll, reminders=roll.reminders + 1, last_reminder_at=now)
    return ReminderDecision(event, next_reminder_at(reminded, policy))


def reminder_pushes(
    event: AlertEvent,
    *,
    roll: Roll,
    school_name: str,
    targets: tuple[PushTarget, ...],
) -> tuple[SendPush, ...]:
    """One push per browser of the school's staff who have not reported in this roll."""
    reporters = roll.reporters
    chosen = [t for t in targets if t.role in REMINDED_ROLES and t.user_id not in reporters]
    if not chosen:
        return ()
    alert = event.alert
    rooms = list(event.data["room_ids"])
    title = f"REPORT YOUR ROOM: {alert.kind.value.replace('_', ' ').upper()}"
    if alert.drill:
        title = "DRILL: " + title
    payload = json.dumps(
        {
            "alert_id": alert.id,
            "event": event.type.value,
            "kind": alert.kind.value,
            "school_id": alert.school_id,
            "room_id": None,
            "drill": alert.drill,
            "destination": alert.destination,
            "hazard": alert.hazard.value if alert.hazard else None,
            "room_ids": rooms,
            "title": title,
            "body": f"{len(rooms)} rooms have not reported | {school_name}",
        },
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return pushes(event, payload, chosen)
