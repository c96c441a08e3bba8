"""Standards for other systems: alerts as CAP 1.2 messages and feeds, and as NENA EIDO.

Reads only: every method authorizes, reads the alert's events and the school, and lets the
core render (`alertd.core.cap`, `alertd.core.eido`). Who may read: `Action.READ_CAP` for
CAP, `Action.EXPORT_INCIDENT` for EIDO, and in both cases the alert must be one the reader
may view. A feed holds the latest message of each alert the reader may view.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from alertd.app.ports import AlertFilter, Clock, LoggedEvent, Store
from alertd.app.service import AlertService, require
from alertd.core.alert import Alert, AlertEvent
from alertd.core.cap import CapMessage, cap_messages
from alertd.core.eido import EidoAgency, eido_incident
from alertd.core.errors import NotFound
from alertd.core.permission import Action, Principal, authorize
from alertd.core.site import School

FEED_LIMIT = 50


class AgencyDirectory(Protocol):
    """The agencies of the site document, as far as exports need them."""

    async def agency_school_ids(self, agency_id: str) -> frozenset[str] | None:
        """The schools an agency covers; None for an unknown agency."""

    async def agencies_of(self, school_id: str) -> list[EidoAgency]:
        """The agencies that cover a school, by name."""


@dataclass(frozen=True, slots=True)
class CapFeed:
    """A feed's messages (the latest of each alert, newest alert first) and its time."""

    title: str
    messages: list[CapMessage]
    updated: datetime


class InteropService:
    def __init__(
        self,
        *,
        store: Store,
        alerts: AlertService,
        agencies: AgencyDirectory,
        clock: Clock,
        sender: str,
        console_url: str | None = None,
    ) -> None:
        self._store = store
        self._alerts = alerts
        self._agencies = agencies
        self._clock = clock
        self.sender = sender
        self._console_url = console_url

    async def cap(self, alert_id: str, *, principal: Principal) -> list[CapMessage]:
        """Every CAP message of one alert, oldest first (the last is its latest state).
        NotFound hides an alert the principal may not view; Forbidden a role without CAP."""
        alert = await self._store.get_alert(alert_id)
        if alert is None:
            raise NotFound("alert", alert_id)
        _require_all(principal, alert, (Action.VIEW_ALERT, Action.READ_CAP))
        school = await self._store.school(alert.school_id)
        return self._messages(alert, await self._events(alert.id), school=school)

    async def school_feed(self, school_id: str, *, principal: Principal) -> CapFeed:
        """The latest CAP message of each recent alert at a school the principal may view."""
        school = await self._store.school(school_id)
        if school is None:
            raise NotFound("school", school_id)
        verdict = authorize(principal, Action.READ_CAP, school_id=school_id)
        require(verdict, what="school", ident=school_id, action=Action.READ_CAP)
        alerts = await self._alerts.list_alerts(
            AlertFilter(school_ids=frozenset({school_id}), limit=FEED_LIMIT), principal=principal
        )
        return await self._feed(f"alertd CAP feed: {school.name}", alerts)

    async def agency_feed(self, agency_id: str, *, principal: Principal) -> CapFeed:
        """The latest CAP message of each recent alert at the schools an agency covers.
        Only for readers who act for every one of them (the agency's dispatchers, district
        admins): anyone else gets NotFound."""
        schools = await self._agencies.agency_school_ids(agency_id)
        if not schools or not all(principal.covers(s) for s in schools):
            raise NotFound("agency", agency_id)
        for school_id in sorted(schools):
            verdict = authorize(principal, Action.READ_CAP, school_id=school_id)
            require(verdict, what="agency", ident=agency_id, action=Action.READ_CAP)
        alerts = await self._alerts.list_alerts(
            AlertFilter(school_ids=schools, limit=FEED_LIMIT), principal=principal
        )
        return await self._feed(f"alertd CAP feed: agency {agency_id}", alerts)

    async def eido(self, alert_id: str, *, principal: Principal) -> dict[str, Any]:
        """The alert as a NENA EIDO incident (JSON data)."""
        alert = await self._store.get_alert(alert_id)
        if alert is None:
            raise NotFound("alert", alert_id)
        _require_all(principal, alert, (Action.VIEW_ALERT, Action.EXPORT_INCIDENT))
        events = await self._events(alert.id)
        return eido_incident(
            events,
            school=await self._store.school(alert.school_id),
            agencies=await self._agencies.agencies_of(alert.school_id),
            sender=self.sender,
            now=self._clock.now(),
        )

    async def _feed(self, title: str, alerts: Sequence[Alert]) -> CapFeed:
        schools: dict[str, School | None] = {}
        for school_id in {a.school_id for a in alerts}:
            schools[school_id] = await self._store.school(school_id)
        timelines = await self._store.timelines([a.id for a in alerts])  # one read, not one each
        latest = [
            self._messages(a, _alert_events(timelines[a.id]), school=schools[a.school_id])[-1]
            for a in alerts
        ]
        updated = max((m.sent for m in latest), default=self._clock.now())
        return CapFeed(title=title, messages=latest, updated=updated)

    def _messages(
        self, alert: Alert, events: list[AlertEvent], *, school: School | None
    ) -> list[CapMessage]:
        web = f"{self._console_url.rstrip('/')}/alerts/{alert.id}" if self._console_url else None
        return cap_messages(events, school=school, sender=self.sender, web=web)

    async def _events(self, alert_id: str) -> list[AlertEvent]:
        return _alert_events(await self._store.timeline(alert_id))


def _alert_events(timeline: Sequence[LoggedEvent]) -> list[AlertEvent]:
    return [logged.event for logged in timeline if isinstance(logged.event, AlertEvent)]


def _require_all(principal: Principal, alert: Alert, actions: Sequence[Action]) -> None:
    for action in actions:
        verdict = authorize(principal, action, alert=alert)
        require(verdict, what="alert", ident=alert.id, action=action)
