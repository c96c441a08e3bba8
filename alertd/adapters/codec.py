"""The one JSON shape of alerts and events, shared by the database rows and the wire.

Stream messages, timeline entries and the stored event bodies are the same dicts, so a
replayed event is byte-for-byte what a live client got. `schemas/` describes this shape.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from alertd.app.ports import LoggedEvent
from alertd.core.actor import Actor, ActorKind
from alertd.core.alert import (
    Alert,
    AlertEvent,
    AlertState,
    EventType,
    Responder,
    ResponderStatus,
)
from alertd.core.delivery import Channel
from alertd.core.drill import DrillPlan, DrillState
from alertd.core.drill_link import DrillAudience, DrillLink
from alertd.core.effect import EFFECT_TYPES, Effect
from alertd.core.escalation import Policy, Step
from alertd.core.kind import AlertKind, Hazard, Severity
from alertd.core.notice import DomainEvent, Notice, NoticeType
from alertd.core.routing import RecipientKind
from alertd.core.site import (
    Building,
    Camera,
    Contact,
    Floor,
    ReunificationSite,
    Room,
    RoomType,
    School,
)
from alertd.core.source import AlertSource

Json = dict[str, Any]


def utc(moment: datetime) -> datetime:
    """The moment in UTC. A moment without a zone (SQLite reads them back so, and query
    strings may give them so) is taken to be UTC already."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def actor_to_dict(actor: Actor) -> Json:
    return {"id": actor.id, "name": actor.name, "kind": actor.kind.value, "role": actor.role}


def actor_from_dict(data: Json) -> Actor:
    return Actor(data["id"], data["name"], ActorKind(data["kind"]), data["role"])


def alert_to_dict(alert: Alert) -> Json:
    return {
        "id": alert.id,
        "kind": alert.kind.value,
        "severity": alert.severity.value,
        "school_id": alert.school_id,
        "room_id": alert.room_id,
        "state": alert.state.value,
        "drill": alert.drill,
        "destination": alert.destination,
        "hazard": alert.hazard.value if alert.hazard else None,
        "raised_by": actor_to_dict(alert.raised_by),
        "raised_at": iso(alert.raised_at),
        "updated_at": iso(alert.updated_at),
        "version": alert.version,
        "responders": [
            {"actor": actor_to_dict(r.actor), "status": r.status.value, "at": iso(r.at)}
            for r in alert.responders
        ],
        "cancel_reason": alert.cancel_reason,
        "source": alert.source.value,
        "drill_plan": drill_link_to_dict(alert.drill_link),
    }


def drill_link_to_dict(link: DrillLink | None) -> Json | None:
    if link is None:
        return None
    contacts = list(link.contacts) if link.contacts is not None else None
    return {"id": link.plan_id, "audience": link.audience.value, "contacts": contacts}


def drill_link_from_dict(data: Json | None) -> DrillLink | None:
    if data is None:
        return None
    contacts = tuple(data["contacts"]) if data["contacts"] is not None else None
    return DrillLink(data["id"], DrillAudience(data["audience"]), contacts)


def alert_from_dict(data: Json) -> Alert:
    return Alert(
        id=data["id"],
        kind=AlertKind(data["kind"]),
        severity=Severity(data["severity"]),
        school_id=data["school_id"],
        room_id=data["room_id"],
        state=AlertState(data["state"]),
        drill=data["drill"],
        destination=data["destination"],
        hazard=Hazard(data["hazard"]) if data["hazard"] else None,
        raised_by=actor_from_dict(data["raised_by"]),
        raised_at=parse_iso(data["raised_at"]),
        updated_at=parse_iso(data["updated_at"]),
        version=data["version"],
        responders=tuple(
            Responder(actor_from_dict(r["actor"]), ResponderStatus(r["status"]), parse_iso(r["at"]))
            for r in data["responders"]
        ),
        cancel_reason=data["cancel_reason"],
        # Alerts stored before sources were recorded came through the API.
        source=AlertSource(data.get("source", AlertSource.API.value)),
        drill_link=drill_link_from_dict(data.get("drill_plan")),  # older alerts have none
    )


def plain(value: Any) -> Any:
    """`value` as plain JSON data: moments as ISO strings, tuples and sets as lists."""
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    return value


def event_body(event: DomainEvent) -> Json:
    """The event without its log id (the id is assigned when it is appended)."""
    if isinstance(event, Notice):
        return {
            "type": event.type.value,
            "alert_id": event.alert_id,
            "school_id": event.school_id,
            "drill": event.drill,
            "at": iso(event.at),
            "actor": actor_to_dict(event.actor),
            "data": plain(event.data),
        }
    return {
        "type": event.type.value,
        "alert_id": event.alert_id,
        "school_id": event.school_id,
        "drill": event.drill,
        "at": iso(event.at),
        "actor": actor_to_dict(event.actor),
        "note": event.note,
        "data": dict(event.data),
        "alert": alert_to_dict(event.alert),
    }


def logged_to_dict(logged: LoggedEvent) -> Json:
    return {"id": logged.id, **event_body(logged.event)}


_NOTICE_TYPES = frozenset(t.value for t in NoticeType)


def logged_from_body(event_id: int, body: Json) -> LoggedEvent:
    if body["type"] in _NOTICE_TYPES:
        notice = Notice(
            type=NoticeType(body["type"]),
            at=parse_iso(body["at"]),
            actor=actor_from_dict(body["actor"]),
            school_id=body["school_id"],
            alert_id=body["alert_id"],
            drill=body["drill"],
            data=body["data"],
        )
        return LoggedEvent(event_id, notice)
    event = AlertEvent(
        type=EventType(body["type"]),
        alert=alert_from_dict(body["alert"]),
        actor=actor_from_dict(body["actor"]),
        at=parse_iso(body["at"]),
        note=body["note"],
        data=body["data"],
    )
    return LoggedEvent(event_id, event)


def school_to_dict(school: School) -> Json:
    """The school's part of a site document (the format `schemas/site.schema.json` describes)."""
    return {
        "id": school.id,
        "name": school.name,
        "timezone": school.timezone,
        "address": school.address,
        "contacts": [
            {
                "id": c.id,
                "name": c.name,
                "role": c.role.value,
                "sms": c.sms,
                "voice": c.voice,
                "test_contact": c.test_contact,
                "backup": c.backup,
            }
            for c in school.contacts
        ],
        "buildings": [
            {
                "id": b.id,
                "name": b.name,
                "floors": [
                    {
                        "id": f.id,
                        "name": f.name,
                        "ordinal": f.ordinal,
                        "outline": dict(f.outline),
                        "rooms": [
                            {
                                "id": r.id,
                                "number": r.number,
                                "name": r.name,
                                "type": r.type.value,
                                "geometry": dict(r.geometry),
                            }
                            for r in f.rooms
                        ],
                        "cameras": [
                            {
                                "id": c.id,
                                "name": c.name,
                                "position": list(c.position),
                                "room_ids": list(c.room_ids),
                            }
                            for c in f.cameras
                        ],
                    }
                    for f in b.floors
                ],
            }
            for b in school.buildings
        ],
        "reunification_sites": [reunification_site_to_dict(r) for r in school.reunification_sites],
    }


def reunification_site_to_dict(site: ReunificationSite) -> Json:
    return {
        "id": site.id,
        "name": site.name,
        "address": site.address,
        "position": list(site.position) if site.position is not None else None,
        "note": site.note,
    }


def school_from_dict(data: Json, *, district_id: str) -> School:
    return School(
        id=data["id"],
        name=data["name"],
        district_id=district_id,
        timezone=data["timezone"],
        address=data.get("address"),
        contacts=tuple(
            Contact(
                c["id"],
                c["name"],
                RecipientKind(c["role"]),
                c.get("sms"),
                voice=c.get("voice"),
                test_contact=c.get("test_contact", False),
                backup=c.get("backup", False),
            )
            for c in data.get("contacts", ())
        ),
        buildings=tuple(
            Building(
                b["id"],
                b["name"],
                tuple(
                    Floor(
                        f["id"],
                        f["name"],
                        f["ordinal"],
                        f["outline"],
                        tuple(
                            Room(
                                r["id"], r["number"], r["name"], RoomType(r["type"]), r["geometry"]
                            )
                            for r in f["rooms"]
                        ),
                        tuple(
                            Camera(c["id"], c["name"], tuple(c["position"]), tuple(c["room_ids"]))
                            for c in f.get("cameras", ())
                        ),
                    )
                    for f in b["floors"]
                ),
            )
            for b in data["buildings"]
        ),
        reunification_sites=tuple(
            ReunificationSite(
                r["id"],
                r["name"],
                r.get("address"),
                (r["position"][0], r["position"][1]) if r.get("position") else None,
                r.get("note"),
            )
            for r in data.get("reunification_sites", ())
        ),
    )


def effect_to_row(effect: Effect) -> tuple[str, Json]:
    """The effect's type name and its fields, as the outbox stores them."""
    return type(effect).__name__, dataclasses.asdict(effect)


def effect_from_row(name: str, body: Json) -> Effect:
    return EFFECT_TYPES[name](**body)


def policy_to_json(policy: Policy) -> list[Json]:
    """An escalation policy's steps as stored (the site document's shape)."""
    return [
        {
            "targets": list(step.targets),
            "channel": step.channel.value,
            "after_seconds": int(step.after.total_seconds()),
            "repeats": step.repeats,
        }
        for step in policy.steps
    ]


def policy_from_json(steps: list[Json]) -> Policy:
    return Policy(
        tuple(
            Step(
                tuple(s["targets"]),
                Channel(s["channel"]),
                timedelta(seconds=s["after_seconds"]),
                s.get("repeats", 0),
            )
            for s in steps
        )
    )


def drill_plan_to_dict(plan: DrillPlan) -> Json:
    return {
        "id": plan.id,
        "school_id": plan.school_id,
        "kind": plan.kind.value,
        "scheduled_for": iso(plan.scheduled_for),
        "audience": plan.audience.value,
        "test_contacts": list(plan.test_contacts),
        "state": plan.state.value,
        "room_id": plan.room_id,
        "destination": plan.destination,
        "hazard": plan.hazard.value if plan.hazard else None,
        "note": plan.note,
        "alert_id": plan.alert_id,
        "created_by": actor_to_dict(plan.created_by),
        "created_at": iso(plan.created_at),
        "updated_at": iso(plan.updated_at),
        "started_at": iso(plan.started_at) if plan.started_at else None,
        "ended_at": iso(plan.ended_at) if plan.ended_at else None,
        "held": plan.held,
    }


def drill_plan_from_dict(data: Json) -> DrillPlan:
    def moment(key: str) -> datetime | None:
        return parse_iso(data[key]) if data[key] else None

    return DrillPlan(
        id=data["id"],
        school_id=data["school_id"],
        kind=AlertKind(data["kind"]),
        scheduled_for=parse_iso(data["scheduled_for"]),
        audience=DrillAudience(data["audience"]),
        test_contacts=tuple(data["test_contacts"]),
        state=DrillState(data["state"]),
        created_by=actor_from_dict(data["created_by"]),
        created_at=parse_iso(data["created_at"]),
        updated_at=parse_iso(data["updated_at"]),
        room_id=data["room_id"],
        destination=data["destination"],
        hazard=Hazard(data["hazard"]) if data["hazard"] else None,
        note=data["note"],
        alert_id=data["alert_id"],
        started_at=moment("started_at"),
        ended_at=moment("ended_at"),
        held=data.get("held"),
    )
