"""Wire models of drill plans (`/v1/drills`) and drill compliance (`/v1/compliance`)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from alertd.adapters.wire.v1 import ActorOut, Ident, Note
from alertd.core.drill import MAX_TEST_CONTACTS, DrillState
from alertd.core.drill_link import DrillAudience
from alertd.core.kind import AlertKind, Hazard


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)


class DrillPlanIn(_In):
    """Schedule a drill. Its alert is raised by POST /v1/drills/{id}/start."""

    kind: AlertKind
    school_id: str = Ident
    scheduled_for: datetime = Field(description="when it is planned, with a time zone offset")
    audience: DrillAudience = Field(
        default=DrillAudience.SCHOOL,
        description="school: staff apps are alerted as for a real alert; contacts: only the "
        "test contacts hear of it (a communications test)",
    )
    test_contacts: list[str] = Field(
        default_factory=list,
        max_length=MAX_TEST_CONTACTS,
        description="ids of the school's test contacts to text (empty: all of them); only "
        "contacts marked test_contact in the site document may be named",
    )
    room_id: str | None = Field(default=None, min_length=1, max_length=64)
    destination: str | None = Field(default=None, max_length=200, description="evacuate only")
    hazard: Hazard | None = Field(default=None, description="shelter only")
    note: str | None = Note


class DrillPlanOut(_Out):
    id: str
    school_id: str
    kind: AlertKind
    scheduled_for: datetime
    audience: DrillAudience
    test_contacts: list[str]
    state: DrillState
    room_id: str | None
    destination: str | None
    hazard: Hazard | None
    note: str | None
    alert_id: str | None = Field(description="the drill alert, once started")
    created_by: ActorOut
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    held: bool | None = Field(
        description="once ended: whether the drill took place (counts for compliance)"
    )


class DrillPlanList(_Out):
    drills: list[DrillPlanOut]


class RequirementOut(_Out):
    kind: AlertKind
    hazard: Hazard | None
    label: str
    required: int
    done: int = Field(description="drills of the term that ended with an all clear or resolve")
    planned: int = Field(description="drills scheduled in the term, not yet started")
    met: bool


class DrillRecordOut(_Out):
    alert_id: str
    kind: AlertKind
    hazard: Hazard | None
    raised_at: datetime
    state: str
    counted: bool


class ComplianceOut(_Out):
    school_id: str
    state: str = Field(description="the state whose (configurable, example) rule applies")
    state_name: str
    source: str
    note: str
    term: str
    first_day: str
    last_day: str
    met: bool
    requirements: list[RequirementOut]
    drills: list[DrillRecordOut]
    disclaimer: str
