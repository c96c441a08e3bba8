"""Drill plans: schedule, start (raise the drill alert), end (close it), cancel, list.

Who may: `Action.RAISE_DRILL` (drill coordinators and admins) runs drills at their schools;
`Action.VIEW_DRILLS` reads plans. Each command is one transaction: the plan, the drill
alert it raises or closes, and the audit entries commit together; the alert's events are
published after the commit.
"""

from __future__ import annotations

import uuid

from alertd.app.drill_ports import DrillStore, DrillTransaction, PlanFilter
from alertd.app.ports import Clock
from alertd.app.service import AlertService, Recorded, require
from alertd.core import drill
from alertd.core.audit import AuditEntry
from alertd.core.drill import DrillPlan, ScheduleDrill
from alertd.core.errors import NotFound, ValidationFailed
from alertd.core.permission import Action, Principal, Verdict, authorize


class DrillService:
    """Every method commits all of its writes or none; errors from `alertd.core.errors` are
    permanent for the request as sent."""

    def __init__(self, *, store: DrillStore, alerts: AlertService, clock: Clock) -> None:
        self._store = store
        self._alerts = alerts
        self._clock = clock

    async def schedule(self, command: ScheduleDrill, *, principal: Principal) -> DrillPlan:
        """Plan a drill. ValidationFailed names the field (an unknown school, a room of
        another school, a contact who is not one of the school's test contacts)."""
        now = self._clock.now()
        verdict = authorize(principal, Action.RAISE_DRILL, school_id=command.school_id)
        if verdict is Verdict.HIDDEN:
            raise ValidationFailed("school_id", f"unknown school {command.school_id!r}")
        require(verdict, what="school", ident=command.school_id, action=Action.RAISE_DRILL)
        command = command.normalize(now=now)
        async with self._store.transaction() as tx:
            site = await tx.site_context(school_id=command.school_id, room_id=command.room_id)
            if site.school is None:
                raise ValidationFailed("school_id", f"unknown school {command.school_id!r}")
            if command.room_id is not None and (
                site.room is None or site.room.school_id != command.school_id
            ):
                raise ValidationFailed("room_id", f"unknown room {command.room_id!r}")
            plan = drill.schedule(
                command,
                plan_id=str(uuid.uuid4()),
                actor=principal.actor,
                now=now,
                recipients=site.recipients,
            )
            await tx.save_drill_plan(plan, new=True)
            await tx.audit([_entry(principal, "drill.schedule", plan)])
        return plan

    async def plans(self, query: PlanFilter, *, principal: Principal) -> list[DrillPlan]:
        """The plans `principal` may see that match `query` (outside its schools: none)."""
        verdict = authorize(principal, Action.VIEW_DRILLS)
        require(verdict, what="drill", ident="*", action=Action.VIEW_DRILLS)
        schools = query.school_ids if query.school_ids is not None else principal.school_ids
        if schools is not None and principal.school_ids is not None:
            schools = schools & principal.school_ids
        plans = await self._store.drill_plans(
            PlanFilter(
                school_ids=schools,
                scheduled_after=query.scheduled_after,
                scheduled_before=query.scheduled_before,
                states=query.states,
                ids=query.ids,
                limit=query.limit,
            )
        )
        return [p for p in plans if principal.covers(p.school_id)]

    async def plan(self, plan_id: str, *, principal: Principal) -> DrillPlan:
        plan = await self._store.drill_plan(plan_id)
        if plan is None:
            raise NotFound("drill", plan_id)
        verdict = authorize(principal, Action.VIEW_DRILLS, school_id=plan.school_id)
        require(verdict, what="drill", ident=plan_id, action=Action.VIEW_DRILLS)
        return plan

    async def start(self, plan_id: str, *, principal: Principal) -> DrillPlan:
        """Raise the drill alert (drill=true, linked to the plan). IllegalTransition unless
        the plan is scheduled."""
        async with self._store.transaction() as tx:
            plan = await self._runnable(tx, plan_id, principal)
            now = self._clock.now()
            started, command = drill.start(plan, alert_id=str(uuid.uuid4()), now=now)
            command = self._alerts.authorize_raise(command.normalize(), principal)
            assert started.alert_id is not None
            recorded = await self._alerts.open_in(
                tx, command, principal=principal, alert_id=started.alert_id, now=now
            )
            await tx.save_drill_plan(started, new=False)
            await tx.audit([_entry(principal, "drill.start", started)])
        await self._alerts.published(recorded)
        return started

    async def end(self, plan_id: str, *, principal: Principal) -> DrillPlan:
        """End a running drill: its alert gets the all clear (campus-wide kinds) or is
        resolved (a room), as the coordinator, unless it is closed already."""
        recorded: Recorded | None = None
        async with self._store.transaction() as tx:
            plan = await self._runnable(tx, plan_id, principal)
            now = self._clock.now()
            alert = await tx.get_alert(plan.alert_id) if plan.alert_id else None
            ended, closing = drill.end(plan, alert, now=now)
            if alert is not None and closing is not None:
                recorded = await self._alerts.apply_in(
                    tx, alert, closing, principal=principal, now=now
                )
            await tx.save_drill_plan(ended, new=False)
            await tx.audit([_entry(principal, "drill.end", ended)])
        if recorded is not None:
            await self._alerts.published(recorded)
        return ended

    async def cancel(self, plan_id: str, *, principal: Principal) -> DrillPlan:
        """Call off a drill that has not started."""
        async with self._store.transaction() as tx:
            plan = await self._runnable(tx, plan_id, principal)
            cancelled = drill.cancel(plan, now=self._clock.now())
            await tx.save_drill_plan(cancelled, new=False)
            await tx.audit([_entry(principal, "drill.cancel", cancelled)])
        return cancelled

    async def _runnable(
        self, tx: DrillTransaction, plan_id: str, principal: Principal
    ) -> DrillPlan:
        plan = await tx.get_drill_plan(plan_id)
        if plan is None:
            raise NotFound("drill", plan_id)
        verdict = authorize(principal, Action.RAISE_DRILL, school_id=plan.school_id)
        require(verdict, what="drill", ident=plan_id, action=Action.RAISE_DRILL)
        return plan


def _entry(principal: Principal, action: str, plan: DrillPlan) -> AuditEntry:
    return AuditEntry.by(
        principal,
        action,
        at=plan.updated_at,
        school_id=plan.school_id,
        subject=plan.id,
        detail={"kind": plan.kind.value, "state": plan.state.value, "alert_id": plan.alert_id},
    )
