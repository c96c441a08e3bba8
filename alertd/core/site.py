"""Sites: district -> school -> building -> floor -> room, and who is reached for each school.

Geometry is GeoJSON (WGS84 lon/lat, as in IMDF) and is carried, never interpreted, here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from alertd.core.escalation import Policy
from alertd.core.kind import AlertKind
from alertd.core.routing import Recipient, RecipientKind

GeoJson = Mapping[str, Any]


class RoomType(StrEnum):
    CLASSROOM = "classroom"
    LAB = "lab"
    OFFICE = "office"
    GYM = "gym"
    CAFETERIA = "cafeteria"
    LIBRARY = "library"
    AUDITORIUM = "auditorium"
    RESTROOM = "restroom"
    CORRIDOR = "corridor"
    STAIRWELL = "stairwell"
    NURSE = "nurse"
    STORAGE = "storage"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Room:
    id: str
    number: str
    name: str
    type: RoomType
    geometry: GeoJson


@dataclass(frozen=True, slots=True)
class Camera:
    """A camera on a floor: where it is, and the rooms it covers (video comes later)."""

    id: str
    name: str
    position: tuple[float, float]  # longitude, latitude (WGS84)
    room_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Floor:
    id: str
    name: str
    ordinal: int
    outline: GeoJson
    rooms: tuple[Room, ...]
    cameras: tuple[Camera, ...] = ()


@dataclass(frozen=True, slots=True)
class Building:
    id: str
    name: str
    floors: tuple[Floor, ...]


@dataclass(frozen=True, slots=True)
class Contact:
    """A school's own person to text (an SRO, the principal). See `Recipient` for the flags."""

    id: str
    name: str
    role: RecipientKind
    sms: str | None
    voice: str | None = None
    test_contact: bool = False
    backup: bool = False


@dataclass(frozen=True, slots=True)
class ReunificationSite:
    """Where students are reunited with their guardians after an evacuation: a place off
    the school (a church, another school), named in the evacuation's roll."""

    id: str
    name: str
    address: str | None = None
    position: tuple[float, float] | None = None  # longitude, latitude (WGS84)
    note: str | None = None  # how to get there, who runs it


@dataclass(frozen=True, slots=True)
class School:
    id: str
    name: str
    district_id: str
    timezone: str
    address: str | None
    buildings: tuple[Building, ...]
    contacts: tuple[Contact, ...] = ()
    reunification_sites: tuple[ReunificationSite, ...] = ()

    def places(self) -> list[tuple[Building, Floor, Room]]:
        return [(b, f, r) for b in self.buildings for f in b.floors for r in f.rooms]

    def locate(self, room_id: str) -> tuple[Building, Floor, Room] | None:
        return next((place for place in self.places() if place[2].id == room_id), None)


@dataclass(frozen=True, slots=True)
class Agency:
    """Police, fire, EMS, district security: covers `school_ids` for `alert_kinds` (None:
    every kind that involves agencies)."""

    id: str
    name: str
    kind: str
    sms: str | None
    school_ids: frozenset[str]
    voice: str | None = None
    alert_kinds: frozenset[AlertKind] | None = None
    test_contact: bool = False
    backup: bool = False


@dataclass(frozen=True, slots=True)
class EscalationRule:
    """The escalation policy of some schools (None: all) for some kinds (None: all)."""

    policy: Policy
    school_ids: frozenset[str] | None = None
    kinds: frozenset[AlertKind] | None = None

    def applies(self, school_id: str, kind: AlertKind) -> bool:
        return (self.school_ids is None or school_id in self.school_ids) and (
            self.kinds is None or kind in self.kinds
        )


@dataclass(frozen=True, slots=True)
class District:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class Site:
    """One site document: a district, its schools, and the agencies that cover them."""

    district: District
    schools: tuple[School, ...]
    agencies: tuple[Agency, ...] = ()
    escalation: tuple[EscalationRule, ...] = ()

    def policies(self, school_id: str) -> dict[AlertKind, Policy]:
        """The school's policy per kind: the first rule that applies. Kinds no rule names
        use the default (`alertd.core.escalation.default_policy`)."""
        found: dict[AlertKind, Policy] = {}
        for kind in AlertKind:
            rule = next((r for r in self.escalation if r.applies(school_id, kind)), None)
            if rule is not None:
                found[kind] = rule.policy
        return found


def place_label(school: School, room_id: str | None) -> str | None:
    """How a text names the place: "Room 101 Biology Lab, Main Building, Floor 1"."""
    if room_id is None:
        return None
    found = school.locate(room_id)
    if found is None:
        return None
    building, floor, room = found
    name = room.name if room.number in room.name else f"{room.name} ({room.number})"
    return f"{name}, {building.name}, {floor.name}"


def recipients_of(school: School, agencies: tuple[Agency, ...]) -> tuple[Recipient, ...]:
    """Everyone who could be texted about an alert at this school."""
    recipients = [
        Recipient(
            c.id,
            c.name,
            c.role,
            c.sms,
            voice=c.voice,
            test_contact=c.test_contact,
            backup=c.backup,
        )
        for c in school.contacts
    ]
    recipients += [
        Recipient(
            a.id,
            a.name,
            RecipientKind.AGENCY,
            a.sms,
            voice=a.voice,
            test_contact=a.test_contact,
            backup=a.backup,
            alert_kinds=a.alert_kinds,
        )
        for a in agencies
        if school.id in a.school_ids
    ]
    return tuple(recipients)


@dataclass(frozen=True, slots=True)
class ReplaceFloorPlans:
    """Create or replace one school's buildings, floors and rooms (an IMDF import, say).

    An existing school keeps its district, time zone, address and contacts; a new one takes
    `district_id` and `timezone`.
    """

    school_id: str
    school_name: str
    buildings: tuple[Building, ...]
    district_id: str | None = None
    timezone: str = "UTC"


def with_floor_plans(
    existing: School | None, command: ReplaceFloorPlans, *, district_id: str
) -> School:
    """The school after `command`: everything it had, but the name and the buildings."""
    if existing is not None:
        return replace(existing, name=command.school_name, buildings=command.buildings)
    return School(
        id=command.school_id,
        name=command.school_name,
        district_id=district_id,
        timezone=command.timezone,
        address=None,
        buildings=command.buildings,
    )
