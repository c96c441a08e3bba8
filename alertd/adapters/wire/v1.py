"""Wire models, version 1: HTTP bodies and stream messages as clients see them.

Responses and stream messages are built from `alertd.adapters.codec` dicts; these models
describe that shape for OpenAPI, AsyncAPI and the JSON Schema files in `schemas/`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from alertd.core.alert import AlertState, EventType, ResponderStatus
from alertd.core.command import NOTE_MAX_LENGTH
from alertd.core.kind import AlertKind, Hazard, Severity

WIRE_VERSION = 1

Ident = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
Note = Field(default=None, max_length=NOTE_MAX_LENGTH)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RaiseAlertIn(_In):
    """Raise an alert. `drill` is fixed for the alert's whole life."""

    kind: AlertKind
    school_id: str = Ident
    room_id: str | None = Field(default=None, min_length=1, max_length=64)
    note: str | None = Note
    drill: bool = False
    destination: str | None = Field(default=None, max_length=200, description="evacuate only")
    hazard: Hazard | None = Field(default=None, description="shelter only")


class NoteIn(_In):
    note: str | None = Note


class StatusIn(_In):
    status: Literal[ResponderStatus.EN_ROUTE, ResponderStatus.ON_SCENE]
    note: str | None = Note


class CancelIn(_In):
    reason: str = Field(min_length=1, max_length=NOTE_MAX_LENGTH, description="why (false alarm…)")


class AddNoteIn(_In):
    text: str = Field(min_length=1, max_length=NOTE_MAX_LENGTH)


class UpgradeIn(_In):
    kind: AlertKind
    note: str | None = Note
    destination: str | None = Field(default=None, max_length=200)
    hazard: Hazard | None = None


class ActorOut(BaseModel):
    id: str
    name: str
    kind: Literal["user", "device", "system"]
    role: str


class ResponderOut(BaseModel):
    actor: ActorOut
    status: ResponderStatus
    at: datetime


class AlertOut(BaseModel):
    id: str
    kind: AlertKind
    severity: Severity
    school_id: str
    room_id: str | None
    state: AlertState
    drill: bool = Field(description="true for drills and simulations; fixed when raised")
    destination: str | None
    hazard: Hazard | None
    raised_by: ActorOut
    raised_at: datetime
    updated_at: datetime
    version: int = Field(description="how many events the alert has had")
    responders: list[ResponderOut]
    cancel_reason: str | None


class AlertEventMessage(BaseModel):
    """One event of an alert: a stream message and a timeline entry alike."""

    id: int = Field(description="the event's position in the log; resume with since=id")
    type: EventType
    alert_id: str
    school_id: str
    drill: bool
    at: datetime
    actor: ActorOut
    note: str | None
    data: dict[str, Any]
    alert: AlertOut = Field(description="the alert as it stood after this event")


class AlertDetail(AlertOut):
    timeline: list[AlertEventMessage]


class AlertList(BaseModel):
    alerts: list[AlertOut]


class HeartbeatMessage(BaseModel):
    """Sent when the stream is idle. `id` is the last event id the client has passed."""

    id: int
    type: Literal["heartbeat"] = "heartbeat"
    at: datetime


class CaughtUpMessage(BaseModel):
    """Sent once the replay after `since` is complete; live events follow."""

    id: int
    type: Literal["caught_up"] = "caught_up"
    replayed: int


class ErrorBody(BaseModel):
    error: str = Field(description="a stable code, such as validation_failed")
    message: str
    field: str | None = Field(default=None, description="the request field at fault")
    current_state: str | None = Field(default=None, description="for illegal_transition")
    details: list[dict[str, Any]] | None = None


class SchoolSummary(BaseModel):
    id: str
    name: str


class SchoolList(BaseModel):
    schools: list[SchoolSummary]


class RoomOut(BaseModel):
    id: str
    number: str
    name: str
    type: str
    floor: str = Field(description="the id of the floor the room is on")
    building: str = Field(description="the id of the building")
    geometry: dict[str, Any] = Field(description="GeoJSON Polygon, WGS84 lon/lat")


class FloorOut(BaseModel):
    id: str
    name: str
    ordinal: int
    outline: dict[str, Any]
    rooms: list[RoomOut]


class BuildingOut(BaseModel):
    id: str
    name: str
    floors: list[FloorOut]


class SchoolTree(BaseModel):
    id: str
    name: str
    district_id: str
    timezone: str
    address: str | None
    buildings: list[BuildingOut]


class SiteLoaded(BaseModel):
    district_id: str
    schools: list[str]
    rooms: int
