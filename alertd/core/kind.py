"""Alert kinds: the Standard Response Protocol actions plus medical, fire and staff assist.

Each kind's policy is data, so that routing, severity and scope are decided in one table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType


class AlertKind(StrEnum):
    HOLD = "hold"
    SECURE = "secure"
    LOCKDOWN = "lockdown"
    EVACUATE = "evacuate"
    SHELTER = "shelter"
    MEDICAL = "medical"
    FIRE = "fire"
    STAFF_ASSIST = "staff_assist"


class Severity(StrEnum):
    """CAP 1.2 severities, so that CAP export maps one to one."""

    MINOR = "minor"
    MODERATE = "moderate"
    SEVERE = "severe"
    EXTREME = "extreme"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {Severity.MINOR: 0, Severity.MODERATE: 1, Severity.SEVERE: 2, Severity.EXTREME: 3}


class Scope(StrEnum):
    ROOM = "room"  # the alert is about one place; it is resolved
    CAMPUS = "campus"  # an instruction to the whole school; it ends with an all clear


class Hazard(StrEnum):
    """SRP shelter hazards; each implies a strategy staff already drilled."""

    TORNADO = "tornado"
    HAZMAT = "hazmat"
    EARTHQUAKE = "earthquake"
    SEVERE_WEATHER = "severe_weather"


@dataclass(frozen=True, slots=True)
class KindPolicy:
    severity: Severity
    scope: Scope
    notifies_agencies: bool  # False: on-site staff and SROs only (not a 911 matter)
    needs_destination: bool = False
    needs_hazard: bool = False
    standard_response_protocol: bool = False
    # Every room reports secured / needs help and who is missing (the roll, `core.roll`).
    accountability: bool = False


KIND_POLICIES: Mapping[AlertKind, KindPolicy] = MappingProxyType(
    {
        AlertKind.HOLD: KindPolicy(
            Severity.MODERATE,
            Scope.CAMPUS,
            notifies_agencies=False,
            standard_response_protocol=True,
        ),
        AlertKind.SECURE: KindPolicy(
            Severity.SEVERE, Scope.CAMPUS, notifies_agencies=True, standard_response_protocol=True
        ),
        AlertKind.LOCKDOWN: KindPolicy(
            Severity.EXTREME,
            Scope.CAMPUS,
            notifies_agencies=True,
            standard_response_protocol=True,
            accountability=True,
        ),
        AlertKind.EVACUATE: KindPolicy(
            Severity.SEVERE,
            Scope.CAMPUS,
            notifies_agencies=True,
            needs_destination=True,
            standard_response_protocol=True,
            accountability=True,
        ),
        AlertKind.SHELTER: KindPolicy(
            Severity.SEVERE,
            Scope.CAMPUS,
            notifies_agencies=False,
            needs_hazard=True,
            standard_response_protocol=True,
            accountability=True,
        ),
        AlertKind.MEDICAL: KindPolicy(Severity.SEVERE, Scope.ROOM, notifies_agencies=True),
        AlertKind.FIRE: KindPolicy(Severity.EXTREME, Scope.ROOM, notifies_agencies=True),
        AlertKind.STAFF_ASSIST: KindPolicy(Severity.MODERATE, Scope.ROOM, notifies_agencies=False),
    }
)


def policy_of(kind: AlertKind) -> KindPolicy:
    return KIND_POLICIES[kind]


# The Standard Response Protocol's words for each action: what everyone is told to do.
SRP_INSTRUCTIONS: Mapping[AlertKind, str] = MappingProxyType(
    {
        AlertKind.HOLD: "In your room or area. Clear the halls.",
        AlertKind.SECURE: "Get inside. Lock outside doors.",
        AlertKind.LOCKDOWN: "Locks, lights, out of sight.",
        AlertKind.EVACUATE: "To the announced location.",
        AlertKind.SHELTER: "State the hazard and the safety strategy.",
    }
)
