"""After-action reports: `ReportService.report` gathers an alert's events, its delivery
ledger and its school's rooms, and lets `alertd.core.report` work out the metrics."""

from __future__ import annotations

from alertd.app.ports import Clock, Store
from alertd.app.service import require
from alertd.core.alert import AlertEvent
from alertd.core.errors import NotFound
from alertd.core.permission import Action, Principal, authorize
from alertd.core.report import Report, build_report
from alertd.core.roll import expected_rooms, keeps_roll


class ReportService:
    def __init__(self, *, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def report(self, alert_id: str, *, principal: Principal) -> Report:
        """The alert's report. NotFound also hides alerts outside the principal's schools;
        Forbidden for roles that may not read reports (they name who was texted)."""
        alert = await self._store.get_alert(alert_id)
        if alert is None:
            raise NotFound("alert", alert_id)
        verdict = authorize(principal, Action.VIEW_REPORT, alert=alert)
        require(verdict, what="alert", ident=alert_id, action=Action.VIEW_REPORT)
        timeline = await self._store.timeline(alert_id)
        deliveries = await self._store.deliveries(alert_id)
        school = await self._store.school(alert.school_id)
        events = [e.event for e in timeline if isinstance(e.event, AlertEvent)]
        return build_report(
            alert,
            events,
            deliveries,
            # Only actions that keep a roll (lockdown, evacuate, shelter) expect rooms to report.
            expected_rooms(school) if keeps_roll(alert.kind) else (),
            now=self._clock.now(),
            school_name=school.name if school is not None else None,
        )
