"""What a drill alert keeps of the plan it was raised from (see `alertd.core.drill`)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class DrillAudience(StrEnum):
    """Who takes part besides the chosen test contacts (who are always texted)."""

    SCHOOL = "school"  # the whole school: staff apps are pushed, as a real alert would be
    CONTACTS = "contacts"  # a communications test: only the test contacts hear of it


@dataclass(frozen=True, slots=True)
class DrillLink:
    """The plan a drill alert was raised from. `contacts` None: every test contact."""

    plan_id: str
    audience: DrillAudience = DrillAudience.SCHOOL
    contacts: tuple[str, ...] | None = None
