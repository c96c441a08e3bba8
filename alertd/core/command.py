"""Commands: what a person or device asks of an alert. Plain values, validated by `normalize`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from alertd.core.alert import ResponderStatus
from alertd.core.drill_link import DrillLink
from alertd.core.errors import ValidationFailed
from alertd.core.kind import AlertKind, Hazard, policy_of
from alertd.core.source import AlertSource

NOTE_MAX_LENGTH = 2000


class AlertAction(StrEnum):
    """The name of each command that acts on an existing alert (the table's columns)."""

    ACKNOWLEDGE = "acknowledge"
    REPORT_STATUS = "report_status"
    RESOLVE = "resolve"
    CANCEL = "cancel"
    GIVE_ALL_CLEAR = "give_all_clear"
    ADD_NOTE = "add_note"
    UPGRADE = "upgrade"


def clean_note(value: str | None, *, field: str = "note", required: bool = False) -> str | None:
    """Strip a free-text note; refuse an empty required one or one over the limit."""
    text = (value or "").strip()
    if not text:
        if required:
            raise ValidationFailed(field, f"{field} is required")
        return None
    if len(text) > NOTE_MAX_LENGTH:
        raise ValidationFailed(field, f"{field} is longer than {NOTE_MAX_LENGTH} characters")
    return text


def check_kind_details(
    kind: AlertKind, *, destination: str | None, hazard: Hazard | None
) -> tuple[str | None, Hazard | None]:
    """Evacuate needs a destination and shelter a hazard; other kinds take neither."""
    policy = policy_of(kind)
    destination = (destination or "").strip() or None
    if policy.needs_destination and destination is None:
        raise ValidationFailed("destination", f"{kind} needs a destination")
    if not policy.needs_destination and destination is not None:
        raise ValidationFailed("destination", f"{kind} takes no destination")
    if policy.needs_hazard and hazard is None:
        raise ValidationFailed("hazard", f"{kind} needs a hazard")
    if not policy.needs_hazard and hazard is not None:
        raise ValidationFailed("hazard", f"{kind} takes no hazard")
    return destination, hazard


@dataclass(frozen=True, slots=True)
class RaiseAlert:
    kind: AlertKind
    school_id: str
    room_id: str | None = None
    note: str | None = None
    drill: bool = False
    destination: str | None = None
    hazard: Hazard | None = None
    source: AlertSource | None = None  # None: "api"; a device's is set from its kind
    drill_link: DrillLink | None = None  # set by a drill plan's start, never by clients
    # When a device signed the press (its clock): a press a bridge kept through an outage
    # arrives late, and dispatch must see how late.
    pressed_at: datetime | None = None

    def normalize(self) -> RaiseAlert:
        destination, hazard = check_kind_details(
            self.kind, destination=self.destination, hazard=self.hazard
        )
        if self.drill_link is not None and not self.drill:
            raise ValidationFailed("drill", "an alert raised from a drill plan is a drill")
        return RaiseAlert(
            kind=self.kind,
            school_id=self.school_id,
            room_id=self.room_id,
            note=clean_note(self.note),
            drill=self.drill,
            destination=destination,
            hazard=hazard,
            source=self.source,
            drill_link=self.drill_link,
            pressed_at=self.pressed_at,
        )


@dataclass(frozen=True, slots=True)
class Acknowledge:
    note: str | None = None
    action = AlertAction.ACKNOWLEDGE


@dataclass(frozen=True, slots=True)
class ReportStatus:
    status: ResponderStatus
    note: str | None = None
    action = AlertAction.REPORT_STATUS


@dataclass(frozen=True, slots=True)
class Resolve:
    note: str | None = None
    action = AlertAction.RESOLVE


@dataclass(frozen=True, slots=True)
class Cancel:
    reason: str
    action = AlertAction.CANCEL


@dataclass(frozen=True, slots=True)
class GiveAllClear:
    note: str | None = None
    action = AlertAction.GIVE_ALL_CLEAR


@dataclass(frozen=True, slots=True)
class AddNote:
    text: str
    action = AlertAction.ADD_NOTE


@dataclass(frozen=True, slots=True)
class Upgrade:
    kind: AlertKind
    note: str | None = None
    destination: str | None = None
    hazard: Hazard | None = None
    action = AlertAction.UPGRADE


AlertCommand = Acknowledge | ReportStatus | Resolve | Cancel | GiveAllClear | AddNote | Upgrade
