"""Who is told, and what the text says. Pure: the app passes in the audience of the school.

Drills never reach agencies: only the school's own SROs and admins, with DRILL in the text.
Real alerts say EMERGENCY, so neither can be taken for the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from alertd.core.alert import AlertEvent, EventType
from alertd.core.effect import Effect, SendSms
from alertd.core.kind import policy_of
from alertd.core.push import PushTarget, push_effects_for


class RecipientKind(StrEnum):
    SRO = "sro"
    SCHOOL_ADMIN = "school_admin"
    AGENCY = "agency"


@dataclass(frozen=True, slots=True)
class Recipient:
    id: str
    name: str
    kind: RecipientKind
    sms: str | None


@dataclass(frozen=True, slots=True)
class Audience:
    """Everyone who could be told about an alert at one school, and how to name the place."""

    school_name: str
    place: str | None  # "Room 101 Biology Lab, Main Building, Floor 1"
    recipients: tuple[Recipient, ...] = ()
    push_targets: tuple[PushTarget, ...] = ()  # browsers subscribed at the school


# Events that text people, and the headline each one uses.
_HEADLINES = {
    EventType.ALERT_RAISED: "{kind}",
    EventType.ALERT_UPGRADED: "UPGRADED TO {kind}",
    EventType.ALERT_CANCELLED: "CANCELLED {kind}",
    EventType.ALL_CLEAR_GIVEN: "ALL CLEAR after {kind}",
}


def recipients_for(event: AlertEvent, audience: Audience) -> tuple[Recipient, ...]:
    """SROs and admins always; agencies only for real alerts of a kind that involves them."""
    policy = policy_of(event.alert.kind)
    reach_agencies = policy.notifies_agencies and not event.drill
    return tuple(
        r for r in audience.recipients if r.kind is not RecipientKind.AGENCY or reach_agencies
    )


def message_for(event: AlertEvent, audience: Audience) -> str | None:
    """The SMS text for an event, or None if the event texts nobody.

    Free-text notes are never put in a text: they may hold names of students.
    """
    headline = _HEADLINES.get(event.type)
    if headline is None:
        return None
    alert = event.alert
    label = alert.kind.value.replace("_", " ").upper()
    parts = [headline.format(kind=label), audience.school_name]
    if audience.place:
        parts.append(audience.place)
    if alert.destination:
        parts.append(f"evacuate to {alert.destination}")
    if alert.hazard:
        parts.append(f"hazard: {alert.hazard.value.replace('_', ' ')}")
    if event.type is EventType.ALERT_CANCELLED and alert.cancel_reason:
        parts.append("cancelled by " + event.actor.name)
    prefix = "DRILL - NOT A REAL EMERGENCY: " if alert.drill else "EMERGENCY: "
    return prefix + " | ".join(parts) + f" [alert {alert.id[:8]}]"


def effects_for(event: AlertEvent, audience: Audience) -> tuple[Effect, ...]:
    pushes = push_effects_for(
        event, school_name=audience.school_name, place=audience.place, targets=audience.push_targets
    )
    body = message_for(event, audience)
    if body is None:
        return pushes
    texts: tuple[Effect, ...] = tuple(
        SendSms(
            alert_id=event.alert_id,
            recipient_id=r.id,
            to=r.sms,
            body=body,
            drill=event.drill,
            recipient_name=r.name,
            recipient_kind=r.kind.value,
            about=event.type.value,
        )
        for r in recipients_for(event, audience)
        if r.sms
    )
    return texts + pushes
