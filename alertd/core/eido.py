"""NENA EIDO: an alert as an Emergency Incident Data Object (NENA-STA-021). Pure.

EIDO is how an incident travels between call handling, CAD systems and responders. This
function returns the JSON form as plain data, following the standard's structure: one
incident component that refers, by `$ref`, to location, agency, note and agent components.
Which fields are filled, and from what, is in `docs/standards.md`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from alertd.core.alert import AlertEvent, AlertState
from alertd.core.cap import cap_area
from alertd.core.kind import AlertKind
from alertd.core.site import School

Json = dict[str, Any]

EIDO_VERSION = "NENA-STA-021.1a-2022"

# The incident types of the NENA registry nearest to each kind (incidentTypeCommonRegistryText).
INCIDENT_TYPES: Mapping[AlertKind, str] = MappingProxyType(
    {
        AlertKind.HOLD: "Law Enforcement - School Hold",
        AlertKind.SECURE: "Law Enforcement - School Secure",
        AlertKind.LOCKDOWN: "Law Enforcement - School Lockdown",
        AlertKind.EVACUATE: "Public Safety - Evacuation",
        AlertKind.SHELTER: "Public Safety - Shelter in Place",
        AlertKind.MEDICAL: "EMS - Medical Emergency",
        AlertKind.FIRE: "Fire - Structure Fire",
        AlertKind.STAFF_ASSIST: "Law Enforcement - Assist",
    }
)

# The incident's status (incidentStatusCommonRegistryText) for each alert state.
INCIDENT_STATUS: Mapping[AlertState, str] = MappingProxyType(
    {
        AlertState.RAISED: "Received",
        AlertState.ACKNOWLEDGED: "Dispatched",
        AlertState.RESPONDING: "Responding",
        AlertState.RESOLVED: "Closed",
        AlertState.ALL_CLEAR: "Closed",
        AlertState.CANCELLED: "Cancelled",
    }
)


@dataclass(frozen=True, slots=True)
class EidoAgency:
    """An agency the school's alerts go to (police, fire, EMS)."""

    id: str
    name: str


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def eido_incident(
    events: Sequence[AlertEvent],
    *,
    school: School | None,
    agencies: Sequence[EidoAgency],
    sender: str,
    now: datetime,
) -> Json:
    """The EIDO of one alert from its events (oldest first), as of `now`."""
    if not events:
        raise ValueError("an incident has at least its raise")
    alert = events[-1].alert
    location_id = f"loc-{alert.id}"
    area = cap_area(alert, school)
    location: Json = {
        "$id": location_id,
        "componentIdentifier": location_id,
        "locationByValue": {
            "civicAddressText": (school.address if school and school.address else None),
            "locationDescription": area.description,
            "geometry": [
                {"type": "Polygon", "coordinates": [[[lon, lat] for lat, lon in ring]]}
                for ring in area.polygons
            ],
            "circles": [
                {"latitude": c.latitude, "longitude": c.longitude, "radiusKm": c.radius_km}
                for c in area.circles
            ],
            "placeCodes": {name.removeprefix("alertd:"): value for name, value in area.geocodes},
        },
    }
    agency_components = [
        {"$id": f"agency-{a.id}", "agencyIdentifier": a.id, "agencyName": a.name} for a in agencies
    ]
    agents: dict[str, Json] = {}
    notes: list[Json] = []
    for event in events:
        agent_id = f"agent-{event.actor.id}"
        agents.setdefault(
            agent_id,
            {
                "$id": agent_id,
                "agentIdentifier": event.actor.id,
                "agentName": event.actor.name,
                "agentRoleText": event.actor.role,
            },
        )
        text = event.type.value + (f": {event.note}" if event.note else "")
        notes.append(
            {
                "$id": f"note-{alert.id}-{len(notes) + 1}",
                "noteDateTimeStamp": _time(event.at),
                "noteText": text,
                "authorReference": {"$ref": agent_id},
            }
        )
    incident_id = f"inc-{alert.id}"
    closed_at = events[-1].at if not alert.state.is_open else None
    incident: Json = {
        "$id": incident_id,
        "componentIdentifier": incident_id,
        "incidentTrackingIdentifier": alert.id,
        "lastUpdateTimeStamp": _time(alert.updated_at),
        "incidentTypeCommonRegistryText": INCIDENT_TYPES[alert.kind],
        "incidentStatusCommonRegistryText": INCIDENT_STATUS[alert.state],
        "incidentSeverityText": alert.severity.value,
        "exerciseIndicator": alert.drill,
        "incidentCreationTimeStamp": _time(alert.raised_at),
        "incidentCloseTimeStamp": _time(closed_at) if closed_at else None,
        "firstAcknowledgementTimeStamp": _first_ack(events),
        "locationReference": {"$ref": location_id},
        "agencyReference": [{"$ref": a["$id"]} for a in agency_components],
        "notesReference": [{"$ref": n["$id"]} for n in notes],
        "responders": [
            {
                "agentReference": {"$ref": f"agent-{r.actor.id}"},
                "statusText": r.status.value,
                "statusDateTimeStamp": _time(r.at),
            }
            for r in alert.responders
        ],
    }
    for responder in alert.responders:
        agents.setdefault(
            f"agent-{responder.actor.id}",
            {
                "$id": f"agent-{responder.actor.id}",
                "agentIdentifier": responder.actor.id,
                "agentName": responder.actor.name,
                "agentRoleText": responder.actor.role,
            },
        )
    return {
        "eidoMessageIdentifier": f"urn:alertd:eido:{alert.id}:{alert.version}",
        "$id": f"urn:alertd:eido:{alert.id}:{alert.version}",
        "eidoVersion": EIDO_VERSION,
        "sendingSystemIdentifier": sender,
        "lastUpdateTimeStamp": _time(now),
        "messageKind": "Report",
        "incidentComponent": [incident],
        "locationComponent": [location],
        "agencyComponent": agency_components,
        "agentComponent": list(agents.values()),
        "notesComponent": notes,
        "extensions": {
            "alertd": {
                "kind": alert.kind.value,
                "state": alert.state.value,
                "source": alert.source.value,
                "destination": alert.destination,
                "hazard": alert.hazard.value if alert.hazard else None,
                "cancelReason": alert.cancel_reason,
            }
        },
    }


def _first_ack(events: Sequence[AlertEvent]) -> str | None:
    for event in events:
        if event.alert.responders:
            return _time(min(r.at for r in event.alert.responders))
    return None
