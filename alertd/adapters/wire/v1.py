"""Wire models, version 1: HTTP bodies and stream messages as clients see them.

Responses and stream messages are built from `alertd.adapters.codec` dicts; these models
describe that shape for OpenAPI, AsyncAPI and the JSON Schema files in `schemas/`.
"""

from __future__ import annotations

from datetime import datetime
from enum import IntEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from alertd.core.alert import AlertState, EventType, ResponderStatus
from alertd.core.command import NOTE_MAX_LENGTH
from alertd.core.delivery import Channel, DeliveryState
from alertd.core.drill_link import DrillAudience
from alertd.core.kind import AlertKind, Hazard, Severity
from alertd.core.notice import NoticeType
from alertd.core.source import AlertSource

WIRE_VERSION = 1

Ident = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
Note = Field(default=None, max_length=NOTE_MAX_LENGTH)


class StreamClose(IntEnum):
    """WebSocket close codes of /v1/stream (the 4000-4999 range is for applications)."""

    SLOW_CONSUMER = 4001
    BAD_REQUEST = 4400
    UNAUTHENTICATED = 4401
    TRY_AGAIN_LATER = 1013  # the registered code (RFC 6455 registry), not an application one


STREAM_CLOSE_MEANINGS = {
    StreamClose.SLOW_CONSUMER: "slow consumer: the client fell too far behind the live stream "
    "(its queue overflowed or a message took longer than the send timeout). The close reason "
    "reads `slow consumer; resume with since=<id>`; reconnect with the last id received. A "
    "completely stalled socket may be dropped without a close frame; resume the same way. "
    "The same code with the reason `missing events; resume with since=<id>` means a gap in "
    "the live events could not be filled: resuming replays them from the log.",
    StreamClose.BAD_REQUEST: "bad request: a query parameter is invalid (`since` not an "
    "integer of 0 or more, or past the last event id, as after the server's database was "
    "replaced); the close reason names it. Retrying unchanged fails again.",
    StreamClose.UNAUTHENTICATED: "unauthenticated: no valid `access_token` query parameter "
    "(a bearer token from POST /v1/auth/token) or session cookie. Sign in, then reconnect.",
    StreamClose.TRY_AGAIN_LATER: "try again later: the database does not answer. Reconnect "
    "after a pause with since=<last id received>; nothing is lost.",
}


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    # The server always sends every field, defaults included: say so in the schemas.
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)


class RaiseAlertIn(_In):
    """Raise an alert. `drill` is fixed for the alert's whole life."""

    kind: AlertKind
    school_id: str = Ident
    room_id: str | None = Field(default=None, min_length=1, max_length=64)
    note: str | None = Note
    drill: bool = False
    destination: str | None = Field(default=None, max_length=200, description="evacuate only")
    hazard: Hazard | None = Field(default=None, description="shelter only")
    source: AlertSource | None = Field(
        default=None,
        description="what it is raised from: app, console or api (the default). A signed "
        "device's alerts are from its kind (wall_button, badge, kiosk); nobody else may claim one.",
    )


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


class ActorOut(_Out):
    id: str
    name: str
    kind: Literal["user", "device", "system", "contact"] = Field(
        description="contact: someone alertd texted or called (an agency, an SRO's phone)"
    )
    role: str


class ResponderOut(_Out):
    actor: ActorOut
    status: ResponderStatus
    at: datetime


class DrillPlanLinkOut(_Out):
    """The drill plan a drill alert was raised from."""

    id: str
    audience: DrillAudience = Field(
        description="school: staff apps are alerted too; contacts: only the test contacts"
    )
    contacts: list[str] | None = Field(
        description="the test contacts this drill texts (null: every test contact)"
    )


class AlertOut(_Out):
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
    source: AlertSource = Field(description="what it was raised from")
    drill_plan: DrillPlanLinkOut | None = Field(
        default=None, description="drills started from a plan (POST /v1/drills/{id}/start)"
    )


class AlertEventMessage(_Out):
    """One event of an alert: a stream message and a timeline entry alike."""

    id: int = Field(ge=1, description="the event's position in the log; resume with since=id")
    type: EventType
    alert_id: str
    school_id: str
    drill: bool
    at: datetime
    actor: ActorOut
    note: str | None
    data: dict[str, Any]
    alert: AlertOut = Field(description="the alert as it stood after this event")


class NoticeMessage(_Out):
    """An event that is not an alert transition (a delivery's progress, say). Its `data`
    holds the payload of its `type`; each client receives only the notices its role may see.
    """

    id: int = Field(ge=1, description="the event's position in the log; resume with since=id")
    type: NoticeType
    alert_id: str | None = Field(description="the alert it concerns, if any")
    school_id: str | None = Field(description="the school it concerns; null: district-wide")
    drill: bool
    at: datetime
    actor: ActorOut
    data: dict[str, Any]


class DeliveryOut(_Out):
    """One message to one recipient about the alert, and what became of it."""

    id: int
    recipient_id: str
    recipient_name: str
    recipient_kind: str = Field(description="sro, school_admin, agency ...")
    channel: Channel
    address: str = Field(description="the last four digits of the number only")
    about: str = Field(description="the event the message announced, such as AlertRaised")
    state: DeliveryState = Field(
        description="queued, recorded (no provider configured: sent nowhere), sent, "
        "delivered, undelivered or failed; only delivered means the person was reached"
    )
    attempts: int
    error: str | None
    updated_at: datetime


class AlertDetail(AlertOut):
    timeline: list[AlertEventMessage]
    deliveries: list[DeliveryOut] | None = Field(
        description="every message sent about the alert; null when your role may not see them"
    )


class AlertList(_Out):
    alerts: list[AlertOut]


class HeartbeatMessage(_Out):
    """Sent when the stream is idle, so that both ends know the connection is alive."""

    id: int = Field(
        ge=0, description="the last event id the stream has passed (sent or filtered out)"
    )
    type: Literal["heartbeat"] = "heartbeat"
    at: datetime = Field(description="the server's time")


class CaughtUpMessage(_Out):
    """Sent once the replay after `since` is complete; live events follow."""

    id: int = Field(ge=0, description="the last event id of the replay (or the log head)")
    type: Literal["caught_up"] = "caught_up"
    replayed: int = Field(ge=0, description="how many events the replay sent")


class ErrorBody(BaseModel):
    """An error answer. `current_state` and `details` appear only where they apply."""

    error: str = Field(description="a stable code, such as validation_failed")
    message: str
    field: str | None = Field(default=None, description="the request field at fault")
    current_state: str | None = Field(default=None, description="for illegal_transition")
    cause: str | None = Field(
        default=None,
        description="why an illegal_transition, where a client may act on it: roll_not_kept "
        "(the alert's kind keeps no roll), alert_closed",
    )
    details: list[dict[str, Any]] | None = None


class SchoolSummary(_Out):
    id: str
    name: str


class SchoolList(_Out):
    schools: list[SchoolSummary]


class RoomOut(_Out):
    id: str
    number: str
    name: str
    type: str
    floor: str = Field(description="the id of the floor the room is on")
    building: str = Field(description="the id of the building")
    geometry: dict[str, Any] = Field(description="GeoJSON Polygon, WGS84 lon/lat")


class CameraOut(_Out):
    id: str
    name: str
    position: list[float] = Field(description="[longitude, latitude], WGS84")
    room_ids: list[str] = Field(description="the rooms of the floor it covers")


class FloorOut(_Out):
    id: str
    name: str
    ordinal: int
    outline: dict[str, Any]
    rooms: list[RoomOut]
    cameras: list[CameraOut]


class BuildingOut(_Out):
    id: str
    name: str
    floors: list[FloorOut]


class ReunificationSiteOut(_Out):
    """Where students are reunited with their guardians after an evacuation."""

    id: str
    name: str
    address: str | None
    position: list[float] | None = Field(description="[longitude, latitude], WGS84")
    note: str | None


class SchoolTree(_Out):
    id: str
    name: str
    district_id: str
    timezone: str
    address: str | None
    buildings: list[BuildingOut]
    reunification_sites: list[ReunificationSiteOut]


class SiteLoaded(_Out):
    district_id: str
    schools: list[str]
    rooms: int


class FloorPlansImported(_Out):
    """What an IMDF archive put in place of a school's buildings, floors and rooms."""

    school_id: str
    name: str
    created: bool = Field(description="the school did not exist before")
    buildings: int
    levels: int
    units: int
    skipped: list[str] = Field(description="what the archive held that was left out, and why")
