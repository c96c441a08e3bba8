"""The alert: its state, the commands that change it, and the events they record."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from alertd.core.actor import Actor
from alertd.core.drill_link import DrillLink
from alertd.core.kind import AlertKind, Hazard, Severity
from alertd.core.source import AlertSource


class AlertState(StrEnum):
    RAISED = "raised"
    ACKNOWLEDGED = "acknowledged"
    RESPONDING = "responding"
    RESOLVED = "resolved"
    CANCELLED = "cancelled"
    ALL_CLEAR = "all_clear"

    @property
    def is_open(self) -> bool:
        return self in OPEN_STATES


OPEN_STATES = frozenset({AlertState.RAISED, AlertState.ACKNOWLEDGED, AlertState.RESPONDING})


class ResponderStatus(StrEnum):
    ACKNOWLEDGED = "acknowledged"
    EN_ROUTE = "en_route"
    ON_SCENE = "on_scene"


@dataclass(frozen=True, slots=True)
class Responder:
    actor: Actor
    status: ResponderStatus
    at: datetime


@dataclass(frozen=True, slots=True)
class Alert:
    """An alert as it stands after its latest event. `version` counts its events."""

    id: str
    kind: AlertKind
    severity: Severity
    school_id: str
    room_id: str | None
    state: AlertState
    drill: bool
    raised_by: Actor
    raised_at: datetime
    updated_at: datetime
    version: int
    destination: str | None = None
    hazard: Hazard | None = None
    responders: tuple[Responder, ...] = ()
    cancel_reason: str | None = None
    source: AlertSource = AlertSource.API  # what it was raised from: app, wall button ...
    drill_link: DrillLink | None = None  # the drill plan it was raised from (drills only)

    def responder(self, actor_id: str) -> Responder | None:
        return next((r for r in self.responders if r.actor.id == actor_id), None)


class EventType(StrEnum):
    ALERT_RAISED = "AlertRaised"
    ALERT_ACKNOWLEDGED = "AlertAcknowledged"
    RESPONDER_STATUS_REPORTED = "ResponderStatusReported"
    ALERT_RESOLVED = "AlertResolved"
    ALERT_CANCELLED = "AlertCancelled"
    ALL_CLEAR_GIVEN = "AllClearGiven"
    NOTE_ADDED = "NoteAdded"
    ALERT_UPGRADED = "AlertUpgraded"
    # The roll (`core.roll`): a room or group reported; unreported rooms were reminded.
    ROOM_REPORTED = "RoomReported"
    ROLL_REMINDER = "RollReminder"


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """One recorded transition: who, when, what, and the alert as it stood afterwards.

    `drill` is copied from the alert on every event, so no consumer ever has to look it up.
    """

    type: EventType
    alert: Alert
    actor: Actor
    at: datetime
    note: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)

    @property
    def alert_id(self) -> str:
        return self.alert.id

    @property
    def school_id(self) -> str:
        return self.alert.school_id

    @property
    def drill(self) -> bool:
        return self.alert.drill
