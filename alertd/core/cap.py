"""OASIS CAP 1.2: every alert event as a Common Alerting Protocol message. Pure.

One message per event of the alert, in order. The first is an `Alert`; every later one is an
`Update` that `references` all the messages before it, and once the alert is cancelled (a
false alarm) each message is a `Cancel`. A drill is `status` Exercise from start to end.
The `<info>` of each message describes the alert as it stood after that event: while it is
open the urgency is Immediate and the `responseType` is the SRP action's; after a resolve,
an all clear or a cancel the urgency is Past and the response AllClear.

alertd's messages are `scope` Restricted: they may name the room where people shelter, so
they are for public-safety agencies and school staff, never for the public.

This module returns data (`CapMessage`); `alertd.adapters.cap` writes it as XML.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType

from alertd.core.alert import Alert, AlertEvent, AlertState
from alertd.core.kind import SRP_INSTRUCTIONS, AlertKind, Hazard, Severity
from alertd.core.site import School

LANGUAGE = "en-US"
RESTRICTION = "For public-safety agencies and school staff only: it may name where people shelter."
DRILL_NOTE = "DRILL (exercise): no real emergency."
# CAP forbids spaces, commas, '<' and '&' in identifiers and in the sender.
_FORBIDDEN = str.maketrans({" ": "_", ",": "_", "<": "_", "&": "_"})
# Earth's mean radius, for the radius of the circle around the alert's place.
_EARTH_KM = 6371.0
_MIN_RADIUS_KM = 0.01


class CapStatus(StrEnum):
    ACTUAL = "Actual"
    EXERCISE = "Exercise"


class CapMsgType(StrEnum):
    ALERT = "Alert"
    UPDATE = "Update"
    CANCEL = "Cancel"


class CapResponse(StrEnum):
    SHELTER = "Shelter"
    EVACUATE = "Evacuate"
    EXECUTE = "Execute"
    AVOID = "Avoid"
    MONITOR = "Monitor"
    ALL_CLEAR = "AllClear"


# Per kind: the CAP category, the event's name, and the response the SRP action asks for.
@dataclass(frozen=True, slots=True)
class _KindCap:
    category: str
    event: str
    response: CapResponse
    instruction: str


def _srp(kind: AlertKind) -> str:
    """The SRP words as a CAP instruction: "LOCKDOWN: locks, lights, out of sight." """
    words = SRP_INSTRUCTIONS[kind]
    return f"{kind.value.upper()}: {words[0].lower()}{words[1:]}"


_KINDS: Mapping[AlertKind, _KindCap] = MappingProxyType(
    {
        AlertKind.HOLD: _KindCap("Security", "Hold", CapResponse.EXECUTE, _srp(AlertKind.HOLD)),
        AlertKind.SECURE: _KindCap(
            "Security", "Secure", CapResponse.SHELTER, _srp(AlertKind.SECURE)
        ),
        AlertKind.LOCKDOWN: _KindCap(
            "Security", "Lockdown", CapResponse.SHELTER, _srp(AlertKind.LOCKDOWN)
        ),
        AlertKind.EVACUATE: _KindCap(
            "Safety", "Evacuate", CapResponse.EVACUATE, _srp(AlertKind.EVACUATE)
        ),
        AlertKind.SHELTER: _KindCap(
            "Safety", "Shelter", CapResponse.SHELTER, _srp(AlertKind.SHELTER)
        ),
        AlertKind.MEDICAL: _KindCap(
            "Health", "Medical emergency", CapResponse.AVOID, "Keep the area clear for responders."
        ),
        AlertKind.FIRE: _KindCap(
            "Fire", "Fire", CapResponse.EVACUATE, "Leave the building by the fire routes."
        ),
        AlertKind.STAFF_ASSIST: _KindCap(
            "Safety", "Staff assist", CapResponse.MONITOR, "Staff to the room; others carry on."
        ),
    }
)

# A shelter's hazard names its category and its strategy (the SRP's words).
_HAZARDS: Mapping[Hazard, tuple[str, str]] = MappingProxyType(
    {
        Hazard.TORNADO: ("Met", "Tornado: go to the shelter area."),
        Hazard.SEVERE_WEATHER: ("Met", "Severe weather: go to the shelter area."),
        Hazard.HAZMAT: ("CBRNE", "Hazmat: seal the room."),
        Hazard.EARTHQUAKE: ("Geo", "Earthquake: drop, cover and hold on."),
    }
)

_SEVERITIES: Mapping[Severity, str] = MappingProxyType(
    {
        Severity.MINOR: "Minor",
        Severity.MODERATE: "Moderate",
        Severity.SEVERE: "Severe",
        Severity.EXTREME: "Extreme",
    }
)

_CLOSED_WORDS: Mapping[AlertState, str] = MappingProxyType(
    {
        AlertState.RESOLVED: "RESOLVED",
        AlertState.ALL_CLEAR: "ALL CLEAR",
        AlertState.CANCELLED: "CANCELLED",
    }
)


@dataclass(frozen=True, slots=True)
class CapReference:
    """An earlier message, as CAP's `references` names it: sender, identifier, sent."""

    sender: str
    identifier: str
    sent: datetime


@dataclass(frozen=True, slots=True)
class CapCircle:
    latitude: float
    longitude: float
    radius_km: float


@dataclass(frozen=True, slots=True)
class CapArea:
    """Where: a description (school, address, building, floor, room), polygons as
    (latitude, longitude) rings, a circle around them, and alertd's place codes."""

    description: str
    polygons: tuple[tuple[tuple[float, float], ...], ...] = ()
    circles: tuple[CapCircle, ...] = ()
    geocodes: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class CapInfo:
    categories: tuple[str, ...]
    event: str
    response_types: tuple[CapResponse, ...]
    urgency: str
    severity: str
    certainty: str
    sender_name: str
    headline: str
    description: str
    instruction: str
    event_codes: tuple[tuple[str, str], ...]
    parameters: tuple[tuple[str, str], ...]
    area: CapArea
    language: str = LANGUAGE
    web: str | None = None


@dataclass(frozen=True, slots=True)
class CapMessage:
    identifier: str
    sender: str
    sent: datetime
    status: CapStatus
    msg_type: CapMsgType
    scope: str
    restriction: str
    note: str | None
    references: tuple[CapReference, ...]
    incidents: str
    info: CapInfo
    alert_id: str

    @property
    def reference(self) -> CapReference:
        """How a later message names this one."""
        return CapReference(self.sender, self.identifier, self.sent)


def cap_identifier(alert_id: str, version: int) -> str:
    """The identifier of the message for the alert's `version`-th event."""
    return f"alertd-{alert_id}-{version}".translate(_FORBIDDEN)


def cap_messages(
    events: Sequence[AlertEvent], *, school: School | None, sender: str, web: str | None = None
) -> list[CapMessage]:
    """The CAP messages of one alert's events, oldest first; each references every earlier
    one. `sender` identifies this alertd (a domain-like name); `web` links to the alert."""
    messages: list[CapMessage] = []
    for event in events:
        messages.append(
            cap_message(
                event,
                school=school,
                sender=sender,
                earlier=tuple(m.reference for m in messages),
                web=web,
            )
        )
    return messages


def cap_message(
    event: AlertEvent,
    *,
    school: School | None,
    sender: str,
    earlier: tuple[CapReference, ...] = (),
    web: str | None = None,
) -> CapMessage:
    """The CAP message of one event, given the messages before it (`earlier`)."""
    alert = event.alert
    if alert.state is AlertState.CANCELLED:
        msg_type = CapMsgType.CANCEL
    elif not earlier:
        msg_type = CapMsgType.ALERT
    else:
        msg_type = CapMsgType.UPDATE
    return CapMessage(
        identifier=cap_identifier(alert.id, alert.version),
        sender=sender.translate(_FORBIDDEN),
        sent=event.at,
        status=CapStatus.EXERCISE if alert.drill else CapStatus.ACTUAL,
        msg_type=msg_type,
        scope="Restricted",
        restriction=RESTRICTION,
        note=DRILL_NOTE if alert.drill else None,
        references=earlier,
        incidents=alert.id.translate(_FORBIDDEN),
        info=_info(event, school, web=web),
        alert_id=alert.id,
    )


def _info(event: AlertEvent, school: School | None, *, web: str | None) -> CapInfo:
    alert = event.alert
    kind = _KINDS[alert.kind]
    categories = [kind.category]
    instruction = kind.instruction
    if alert.kind is AlertKind.EVACUATE and alert.destination:
        instruction = f"EVACUATE: to {alert.destination}."
    if alert.kind is AlertKind.SHELTER and alert.hazard is not None:
        category, strategy = _HAZARDS[alert.hazard]
        categories.append(category)
        instruction = f"SHELTER: {strategy}"
    school_name = school.name if school is not None else alert.school_id
    closed = _CLOSED_WORDS.get(alert.state)
    if closed is None:
        urgency, responses = "Immediate", (kind.response,)
        headline = f"{kind.event.upper()} at {school_name}"
    else:
        urgency, responses = "Past", (CapResponse.ALL_CLEAR,)
        headline = f"{closed}: {kind.event.upper()} at {school_name}"
        instruction = f"{closed}. Resume normal activity; follow staff directions."
    if alert.drill:
        headline = f"DRILL: {headline}"
    return CapInfo(
        categories=tuple(dict.fromkeys(categories)),
        event=kind.event,
        response_types=responses,
        urgency=urgency,
        severity=_SEVERITIES[alert.severity],
        certainty="Observed",
        sender_name=f"{school_name} via alertd",
        headline=headline,
        description=_description(event, school),
        instruction=instruction,
        event_codes=(("alertd:kind", alert.kind.value),),
        parameters=_parameters(event),
        area=cap_area(alert, school),
        web=web,
    )


def _description(event: AlertEvent, school: School | None) -> str:
    alert = event.alert
    parts = [f"{event.type.value} by {event.actor.name} ({event.actor.role})."]
    parts.append(f"Raised from {alert.source.value} by {alert.raised_by.name}.")
    if alert.state is AlertState.CANCELLED and alert.cancel_reason:
        parts.append(f"Cancelled: {alert.cancel_reason}")
    if event.note and event.note != alert.cancel_reason:
        parts.append(f"Note: {event.note}")
    if alert.responders:
        who = ", ".join(f"{r.actor.name} {r.status.value}" for r in alert.responders)
        parts.append(f"Responders: {who}.")
    return " ".join(parts)


def _parameters(event: AlertEvent) -> tuple[tuple[str, str], ...]:
    alert = event.alert
    found = [
        ("alertd:alert_id", alert.id),
        ("alertd:event", event.type.value),
        ("alertd:state", alert.state.value),
        ("alertd:version", str(alert.version)),
        ("alertd:source", alert.source.value),
    ]
    if alert.destination:
        found.append(("alertd:destination", alert.destination))
    if alert.hazard is not None:
        found.append(("alertd:hazard", alert.hazard.value))
    return tuple(found)


def cap_area(alert: Alert, school: School | None) -> CapArea:
    """The alert's area: the room (its polygon) for a room alert, else each building's
    lowest floor outline; the school's name and address, and the building, floor and room."""
    if school is None:
        return CapArea(description=alert.school_id)
    words = [school.name]
    if school.address:
        words.append(school.address)
    geocodes = [("alertd:school", school.id)]
    rings: list[tuple[tuple[float, float], ...]] = []
    place = school.locate(alert.room_id) if alert.room_id else None
    if place is not None:
        building, floor, room = place
        words += [building.name, floor.name, f"Room {room.number} {room.name}".strip()]
        geocodes += [
            ("alertd:building", building.id),
            ("alertd:floor", floor.id),
            ("alertd:room", room.id),
        ]
        rings += _rings(room.geometry)
    else:
        for building in school.buildings:
            if building.floors:
                lowest = min(building.floors, key=lambda f: f.ordinal)
                rings += _rings(lowest.outline)
    circle = _circle_around(rings)
    return CapArea(
        description=", ".join(words),
        polygons=tuple(rings),
        circles=(circle,) if circle is not None else (),
        geocodes=tuple(geocodes),
    )


def _rings(geometry: Mapping[str, object]) -> list[tuple[tuple[float, float], ...]]:
    """The exterior rings of a GeoJSON Polygon or MultiPolygon, as (lat, lon) pairs; CAP
    wants closed rings of four pairs or more."""
    kind, coordinates = geometry.get("type"), geometry.get("coordinates")
    if not isinstance(coordinates, list):
        return []
    polygons = [coordinates] if kind == "Polygon" else coordinates if kind == "MultiPolygon" else []
    rings = []
    for polygon in polygons:
        if not isinstance(polygon, list) or not polygon or not isinstance(polygon[0], list):
            continue
        ring = tuple((float(p[1]), float(p[0])) for p in polygon[0])
        if len(ring) >= 4 and ring[0] == ring[-1]:
            rings.append(ring)
    return rings


def _circle_around(rings: Sequence[Sequence[tuple[float, float]]]) -> CapCircle | None:
    """A circle that holds every ring: their vertices' mean, the farthest vertex's distance."""
    points = [p for ring in rings for p in ring[:-1]]
    if not points:
        return None
    lat = sum(p[0] for p in points) / len(points)
    lon = sum(p[1] for p in points) / len(points)
    radius = max(_distance_km((lat, lon), p) for p in points)
    return CapCircle(round(lat, 6), round(lon, 6), round(max(radius, _MIN_RADIUS_KM), 3))


def _distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Haversine distance between two (lat, lon) points."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * _EARTH_KM * math.asin(math.sqrt(h))
