"""Who is told, and what the text says. Pure: the app passes in the audience of the school.

- A real alert reaches the school's SROs and admins, and the agencies that cover the school
  for the alert's kind (only for kinds that involve agencies). Backup contacts are reached
  only by escalation steps (`alertd.core.escalation`) that name them.
- A drill reaches test contacts only, never anyone else, and says DRILL first.
- Real alerts say EMERGENCY first, so neither can be taken for the other.
- Nobody gets two copies of one message because they are on the list twice (an SRO in the
  site document and in the users): one number, one text.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from enum import StrEnum

from alertd.core.alert import Alert, AlertEvent, EventType
from alertd.core.effect import Effect, PlaceCall, SendSms
from alertd.core.kind import AlertKind, policy_of
from alertd.core.push import PushTarget, push_effects_for


class RecipientKind(StrEnum):
    SRO = "sro"
    SCHOOL_ADMIN = "school_admin"
    AGENCY = "agency"


@dataclass(frozen=True, slots=True)
class Recipient:
    """Someone who can be texted or called about alerts at a school.

    `voice` is the number to call (None: call the `sms` number). A `test_contact` is the
    only kind of recipient a drill reaches. A `backup` is reached only by escalation steps.
    `alert_kinds` narrows an agency to the kinds it takes (None: every kind).
    """

    id: str
    name: str
    kind: RecipientKind
    sms: str | None
    voice: str | None = None
    test_contact: bool = False
    backup: bool = False
    alert_kinds: frozenset[AlertKind] | None = None

    @property
    def phone(self) -> str | None:
        """The number to call."""
        return self.voice or self.sms

    def takes(self, kind: AlertKind) -> bool:
        return self.alert_kinds is None or kind in self.alert_kinds


@dataclass(frozen=True, slots=True)
class Audience:
    """Everyone who could be told about an alert at one school, and how to name the place.

    `timezone` is the school's (times in texts are local); `console_url` is the base of the
    links to the console (e.g. "https://alertd.example/console"), None when unknown.
    """

    school_name: str
    place: str | None  # "Room 101 Biology Lab, Main Building, Floor 1"
    recipients: tuple[Recipient, ...] = ()
    timezone: tzinfo = field(default=UTC)
    console_url: str | None = None
    push_targets: tuple[PushTarget, ...] = ()  # browsers subscribed at the school


# Events that text people, and the headline each one uses.
_HEADLINES = {
    EventType.ALERT_RAISED: "{kind}",
    EventType.ALERT_UPGRADED: "UPGRADED TO {kind}",
    EventType.ALERT_CANCELLED: "CANCELLED {kind}",
    EventType.ALL_CLEAR_GIVEN: "ALL CLEAR after {kind}",
}
# Events after which someone should still acknowledge.
_ASKS_FOR_ACKNOWLEDGEMENT = frozenset({EventType.ALERT_RAISED, EventType.ALERT_UPGRADED})
DRILL_PREFIX = "DRILL — not a real emergency."
EMERGENCY_PREFIX = "EMERGENCY:"
REPLY_TO_ACKNOWLEDGE = "Reply 1 to acknowledge."


def may_reach(recipient: Recipient, *, drill: bool) -> bool:
    """The drill rule: a drill reaches test contacts only."""
    return recipient.test_contact or not drill


def reachable(recipients: Iterable[Recipient], *, drill: bool) -> tuple[Recipient, ...]:
    """The recipients a message may go to, each number once (the first holder wins)."""
    seen: set[str] = set()
    chosen = []
    for recipient in recipients:
        number = recipient.sms or recipient.voice
        if not may_reach(recipient, drill=drill) or number is None or number in seen:
            continue
        seen.add(number)
        chosen.append(recipient)
    return tuple(chosen)


def recipients_for(event: AlertEvent, audience: Audience) -> tuple[Recipient, ...]:
    """SROs and admins always; agencies only for kinds that involve them and that they take;
    backups never (escalation reaches them); for a drill, test contacts only."""
    kind = event.alert.kind
    agencies = policy_of(kind).notifies_agencies
    return reachable(
        (
            r
            for r in audience.recipients
            if not r.backup and (r.kind is not RecipientKind.AGENCY or (agencies and r.takes(kind)))
        ),
        drill=event.drill,
    )


def console_link(alert: Alert, audience: Audience) -> str | None:
    if audience.console_url is None:
        return None
    return f"{audience.console_url.rstrip('/')}/alerts/{alert.id}"


def describe(alert: Alert, audience: Audience, *, headline: str = "{kind}") -> str:
    """The alert in one sentence: kind, school, place, local time and the raiser's role.

    Free-text notes are never part of it: they may hold names of students.
    """
    label = alert.kind.value.replace("_", " ").upper()
    text = f"{headline.format(kind=label)} at {audience.school_name}"
    if audience.place:
        text += f", {audience.place}"
    details = []
    if alert.destination:
        details.append(f"Evacuate to {alert.destination}.")
    if alert.hazard:
        details.append(f"Hazard: {alert.hazard.value.replace('_', ' ')}.")
    raised = alert.raised_at.astimezone(audience.timezone).strftime("%H:%M")
    role = alert.raised_by.role.replace("_", " ")
    details.append(f"Raised {raised} by {role}.")
    return f"{text}. " + " ".join(details)


def message_for(event: AlertEvent, audience: Audience) -> str | None:
    """The SMS text for an event, or None if the event texts nobody."""
    headline = _HEADLINES.get(event.type)
    if headline is None:
        return None
    text = text_about(
        event.alert,
        audience,
        headline=headline,
        ask=event.type in _ASKS_FOR_ACKNOWLEDGEMENT,
    )
    if event.type is EventType.ALERT_CANCELLED:
        text += f" Cancelled by {event.actor.name}."
    return text


def text_about(alert: Alert, audience: Audience, *, headline: str, ask: bool) -> str:
    """A text about the alert: DRILL or EMERGENCY first, the alert, the console link and,
    while someone should still acknowledge, "Reply 1 to acknowledge"."""
    prefix = DRILL_PREFIX if alert.drill else EMERGENCY_PREFIX
    parts = [prefix, describe(alert, audience, headline=headline)]
    link = console_link(alert, audience)
    if link:
        parts.append(f"Console: {link}")
    if ask:
        parts.append(REPLY_TO_ACKNOWLEDGE)
    return " ".join(parts)


def call_script(alert: Alert, audience: Audience) -> str:
    """What a voice call says (twice): the alert, then how to acknowledge."""
    prefix = "This is a drill, not a real emergency." if alert.drill else "Emergency."
    return f"{prefix} {describe(alert, audience)} Press 1 to acknowledge."


def text_to(recipient: Recipient, alert: Alert, body: str, *, about: str) -> SendSms | None:
    if recipient.sms is None:
        return None
    return SendSms(
        alert_id=alert.id,
        recipient_id=recipient.id,
        to=recipient.sms,
        body=body,
        drill=alert.drill,
        recipient_name=recipient.name,
        recipient_kind=recipient.kind.value,
        about=about,
    )


def call_to(recipient: Recipient, alert: Alert, script: str, *, about: str) -> PlaceCall | None:
    if recipient.phone is None:
        return None
    return PlaceCall(
        alert_id=alert.id,
        recipient_id=recipient.id,
        to=recipient.phone,
        script=script,
        drill=alert.drill,
        recipient_name=recipient.name,
        recipient_kind=recipient.kind.value,
        about=about,
    )


def effects_for(event: AlertEvent, audience: Audience) -> tuple[Effect, ...]:
    pushes = push_effects_for(
        event, school_name=audience.school_name, place=audience.place, targets=audience.push_targets
    )
    body = message_for(event, audience)
    if body is None:
        return pushes
    texts = (
        text_to(r, event.alert, body, about=event.type.value)
        for r in recipients_for(event, audience)
    )
    return tuple(t for t in texts if t is not None) + pushes
