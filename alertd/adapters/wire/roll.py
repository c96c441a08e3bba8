"""Wire models of the roll (room accountability): the report a room sends, the roll a
console reads, and the `data` of the RoomReported and RollReminder events."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from alertd.adapters.wire.v1 import ActorOut, ReunificationSiteOut
from alertd.core.command import NOTE_MAX_LENGTH
from alertd.core.roll import GROUP_MAX_LENGTH, NAME_MAX_LENGTH, NAMES_MAX, STUDENTS_MAX

NameList = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=NAME_MAX_LENGTH)]],
    Field(max_length=NAMES_MAX),
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)


class RollReportIn(_In):
    """One room's report, or a staff member's group's when not in a room (exactly one of
    `room_id` and `group`). A later report of the same room or group supersedes it."""

    room_id: str | None = Field(default=None, min_length=1, max_length=64)
    group: str | None = Field(
        default=None,
        min_length=1,
        max_length=GROUP_MAX_LENGTH,
        description="a label for a group away from any room (Ms Lee's class, on the field)",
    )
    status: Literal["secured", "needs_help"]
    students_present: int = Field(ge=0, le=STUDENTS_MAX, strict=True)
    missing: NameList = []
    injured: NameList = []
    extra: NameList = Field(default=[], description="students present who are not on the list")
    note: str | None = Field(default=None, max_length=NOTE_MAX_LENGTH)


class RoomReportedData(_Out):
    """The `data` of a RoomReported event (its `note` is the event's note; its `actor`, who
    reported)."""

    room_id: str | None
    group: str | None
    status: Literal["secured", "needs_help"]
    students_present: int
    missing: list[str]
    injured: list[str]
    extra: list[str]


class RollReminderData(_Out):
    """The `data` of a RollReminder event: the rooms still unreported when reminded."""

    room_ids: list[str]
    since_seconds: int = Field(description="seconds since the roll started")


class RollEntryOut(_Out):
    """A report as recorded (the answer to POST /v1/alerts/{id}/roll)."""

    alert_id: str
    event_id: int = Field(description="the RoomReported event's id in the log")
    room_id: str | None
    group: str | None
    status: Literal["secured", "needs_help"]
    students_present: int
    missing: list[str]
    injured: list[str]
    extra: list[str]
    note: str | None
    reported_at: datetime
    reported_by: ActorOut


class RollRoomOut(_Out):
    room_id: str
    name: str
    number: str
    building_id: str
    floor_id: str
    expected: bool = Field(description="false: not a room expected to report, yet reported")
    status: Literal["secured", "needs_help", "not_reported"]
    reported_at: datetime | None
    reported_by: ActorOut | None
    students_present: int | None
    missing: list[str]
    injured: list[str]
    extra: list[str]
    note: str | None


class RollGroupOut(_Out):
    group: str
    status: Literal["secured", "needs_help"]
    reported_at: datetime
    reported_by: ActorOut
    students_present: int
    missing: list[str]
    injured: list[str]
    extra: list[str]
    note: str | None


class RollCounts(_Out):
    secured: int
    needs_help: int
    not_reported: int


class RollOut(_Out):
    """The roll of an alert: every room expected to report and its status, the groups,
    and what is still missing."""

    alert_id: str
    kind: str
    state: str
    drill: bool
    kept: bool = Field(description="the alert keeps a roll now (open, of a kind that does)")
    started_at: datetime | None = Field(description="when the roll (its current action) began")
    since_seconds: int | None
    expected_rooms: int
    rooms: list[RollRoomOut]
    groups: list[RollGroupOut]
    unreported: list[str] = Field(description="ids of the expected rooms not reported yet")
    counts: RollCounts
    reminders: int = Field(description="reminders sent in this roll")
    destination: str | None = Field(description="where an evacuation goes, as raised")
    reunification_sites: list[ReunificationSiteOut] = Field(
        description="evacuations: the school's reunification sites (empty otherwise)"
    )


HTTP_MODELS: tuple[type[BaseModel], ...] = (
    RollReportIn,
    RollEntryOut,
    RollOut,
    RoomReportedData,
    RollReminderData,
)
