"""Room accountability, the use cases: report a room (or group), read the roll, and the
reminder round. The rules are `alertd.core.roll` and `alertd.core.roll_reminder`; this
module runs them inside transactions and publishes the events after commit.

A report is one transaction: the alert is read and locked, its events folded into the
roll, the core checks and records a `RoomReported` event (and an audit entry); with an
Idempotency-Key, the key is claimed first and a retry answers the entry it recorded.

The reminder round runs on every instance (a supervised worker loop): it gives each open
alert that keeps a roll a timer row, claims the due ones in the name of this instance, and
fires each in a transaction of its own, deciding from the alert's log under its lock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from alertd.app.ports import Clock, EventBus, LoggedEvent, SiteContext
from alertd.app.service import require
from alertd.core.alert import Alert, AlertEvent
from alertd.core.audit import AuditEntry
from alertd.core.effect import Effect
from alertd.core.errors import IdempotencyConflict, NotFound
from alertd.core.permission import Action, Principal, authorize
from alertd.core.roll import (
    ReportRoll,
    RollEntry,
    RollView,
    entry_from_event,
    fold_roll,
    keeps_roll,
    record_report,
    view_roll,
)
from alertd.core.roll_reminder import ReminderPolicy, decide_reminder, reminder_pushes
from alertd.core.site import School

logger = logging.getLogger(__name__)

# How long one instance holds a claimed reminder timer before another may take it over.
CLAIM_LEASE = timedelta(seconds=30)
ROUND_LIMIT = 50


@dataclass(frozen=True, slots=True)
class RollKey:
    """An Idempotency-Key of a report as first used: its body's fingerprint, and the event
    it recorded (None only inside the transaction that claimed it)."""

    fingerprint: str
    event_id: int | None


class RollTransaction(Protocol):
    """One transaction on an alert, its log and its roll timer; all of it commits or none."""

    async def get_alert(self, alert_id: str) -> Alert | None:
        """The alert, locked against concurrent commands until commit."""

    async def alert_events(self, alert_id: str) -> list[LoggedEvent]:
        """The alert's events, oldest first (read after `get_alert`, under its lock)."""

    async def get_school(self, school_id: str) -> School | None: ...

    async def site_context(self, *, school_id: str, room_id: str | None) -> SiteContext: ...

    async def claim_roll_key(self, *, scope: str, key: str, fingerprint: str) -> RollKey | None:
        """Record the key; return the earlier use if it was used (waits for a concurrent
        use of the same key to commit)."""

    async def settle_roll_key(self, *, scope: str, key: str, event_id: int) -> None:
        """Record the event the key's report recorded."""

    async def logged_event(self, event_id: int) -> LoggedEvent | None: ...

    async def record(
        self,
        alert: Alert,
        *,
        new: bool,
        events: Sequence[AlertEvent],
        effects: Sequence[Effect],
        audit: Sequence[AuditEntry],
        now: datetime,
    ) -> list[LoggedEvent]:
        """Write the alert, append its events, queue its effects, append the audit."""

    async def sync_roll_timers(self, *, now: datetime) -> None:
        """Give every open alert that keeps a roll a timer (due `now`), restart the timer of
        one whose kind changed, and drop the timers of closed alerts."""

    async def claim_due_rolls(self, *, now: datetime, lease: timedelta, limit: int) -> list[str]:
        """Claim, for this instance until now + lease, the alerts whose roll timers are due."""

    async def save_roll_timer(self, alert_id: str, *, due_at: datetime | None) -> None:
        """Set the alert's next look (None: none for this roll), releasing the claim."""

    async def drop_roll_timer(self, alert_id: str) -> None: ...


class RollStore(Protocol):
    def transaction(self, lane: str = "default") -> AbstractAsyncContextManager[RollTransaction]:
        """One transaction; waiters for a single writer take turns by `lane` (Store's)."""

    async def get_alert(self, alert_id: str) -> Alert | None: ...

    async def timeline(self, alert_id: str) -> list[LoggedEvent]: ...

    async def school(self, school_id: str) -> School | None: ...

    async def rolls_out_of_sync(self) -> bool:
        """Does any open alert that keeps a roll lack its timer (or any timer its alert)?"""

    async def any_roll_due(self, *, now: datetime) -> bool:
        """Is any roll timer due (a read, so an idle round takes no write lock)?"""


@dataclass(frozen=True, slots=True)
class Reported:
    """A report as recorded: its entry, the log id of its event, and whether this request
    recorded it (False: a retry with the same Idempotency-Key)."""

    alert_id: str
    event_id: int
    entry: RollEntry
    created: bool


@dataclass(frozen=True, slots=True)
class RollAnswer:
    alert: Alert
    view: RollView
    school: School | None


class RollService:
    """Report to the roll and read it. Errors from `alertd.core.errors` are permanent."""

    def __init__(
        self,
        *,
        store: RollStore,
        bus: EventBus,
        clock: Clock,
        reminders: ReminderPolicy,
        on_effects_queued: Callable[[], None] = lambda: None,
    ) -> None:
        self._store = store
        self._bus = bus
        self._clock = clock
        self._reminders = reminders
        self._on_effects_queued = on_effects_queued

    async def report(
        self,
        alert_id: str,
        command: ReportRoll,
        *,
        principal: Principal,
        idempotency_key: str | None = None,
        fingerprint: str = "",
    ) -> Reported:
        """Record a room's (or group's) report. NotFound hides alerts outside the
        principal's schools; Forbidden for roles that may not report; IllegalTransition
        (409) for a kind that keeps no roll or a closed alert; ValidationFailed names the
        field. The same key with another body raises IdempotencyConflict."""
        command = command.normalize()  # bad input changes nothing, not even a key
        scope = f"roll:{principal.actor.id}"
        # 500 rooms reporting at once take turns with the alerts, not ahead of them.
        async with self._store.transaction(f"roll {alert_id}") as tx:
            now = self._clock.now()
            alert = await tx.get_alert(alert_id)
            if alert is None:
                raise NotFound("alert", alert_id)
            verdict = authorize(principal, Action.REPORT_ROLL, alert=alert, now=now)
            require(verdict, what="alert", ident=alert_id, action=Action.REPORT_ROLL)
            if idempotency_key is not None:
                earlier = await tx.claim_roll_key(
                    scope=scope, key=idempotency_key, fingerprint=fingerprint
                )
                if earlier is not None:
                    return await self._retried(tx, alert_id, earlier, fingerprint)
            school = await tx.get_school(alert.school_id)
            event = record_report(alert, command, school=school, actor=principal.actor, now=now)
            audit = AuditEntry.by(
                principal,
                "alert.report_roll",
                at=now,
                school_id=alert.school_id,
                subject=alert.id,
                detail={"room_id": command.room_id, "status": command.status},
            )
            logged = await tx.record(
                event.alert, new=False, events=[event], effects=[], audit=[audit], now=now
            )
            if idempotency_key is not None:
                await tx.settle_roll_key(scope=scope, key=idempotency_key, event_id=logged[0].id)
        await self._bus.publish(logged)
        return Reported(alert_id, logged[0].id, entry_from_event(event), created=True)

    async def _retried(
        self, tx: RollTransaction, alert_id: str, earlier: RollKey, fingerprint: str
    ) -> Reported:
        if earlier.fingerprint != fingerprint or earlier.event_id is None:
            raise IdempotencyConflict("this Idempotency-Key was used for a different request")
        logged = await tx.logged_event(earlier.event_id)
        if logged is None or not isinstance(logged.event, AlertEvent):  # pragma: no cover
            raise NotFound("roll entry", str(earlier.event_id))
        return Reported(alert_id, logged.id, entry_from_event(logged.event), created=False)

    async def roll(self, alert_id: str, *, principal: Principal) -> RollAnswer:
        """The alert's roll as it stands. NotFound hides alerts outside the principal's
        schools (and alerts it may not see)."""
        alert = await self._store.get_alert(alert_id)
        if alert is None:
            raise NotFound("alert", alert_id)
        verdict = authorize(principal, Action.VIEW_ROLL, alert=alert)
        require(verdict, what="alert", ident=alert_id, action=Action.VIEW_ROLL)
        events = _alert_events(await self._store.timeline(alert_id))
        school = await self._store.school(alert.school_id)
        view = view_roll(fold_roll(alert_id, events), school, now=self._clock.now())
        return RollAnswer(alert, view, school)

    # --- the reminder round ----------------------------------------------------------------

    async def run_once(self) -> bool:
        """One reminder round. True when the round was full (more may be due at once)."""
        now = self._clock.now()
        if await self._store.rolls_out_of_sync():
            async with self._store.transaction() as tx:
                await tx.sync_roll_timers(now=now)
        if not await self._store.any_roll_due(now=now):
            return False  # the usual round: nothing due, no write lock taken
        async with self._store.transaction() as tx:
            due = await tx.claim_due_rolls(now=now, lease=CLAIM_LEASE, limit=ROUND_LIMIT)
        queued = False
        for alert_id in due:
            queued = await self.remind(alert_id) or queued
        if queued:
            self._on_effects_queued()
        return len(due) == ROUND_LIMIT

    async def remind(self, alert_id: str) -> bool:
        """Fire one claimed roll timer; True if it queued pushes."""
        now = self._clock.now()
        async with self._store.transaction() as tx:
            alert = await tx.get_alert(alert_id)
            if alert is None or not alert.state.is_open or not keeps_roll(alert.kind):
                await tx.drop_roll_timer(alert_id)
                return False
            events = _alert_events(await tx.alert_events(alert_id))
            roll = fold_roll(alert_id, events)
            school = await tx.get_school(alert.school_id)
            decision = decide_reminder(
                alert, view_roll(roll, school, now=now), self._reminders, now=now
            )
            logged: list[LoggedEvent] = []
            effects: tuple[Effect, ...] = ()
            if decision.event is not None:
                context = await tx.site_context(school_id=alert.school_id, room_id=None)
                effects = reminder_pushes(
                    decision.event,
                    roll=roll,
                    school_name=school.name if school else alert.school_id,
                    targets=context.push_targets,
                )
                logged = await tx.record(
                    decision.event.alert,
                    new=False,
                    events=[decision.event],
                    effects=effects,
                    audit=[],
                    now=now,
                )
            await tx.save_roll_timer(alert_id, due_at=decision.next_at)
        if logged:
            logger.info("reminded the unreported rooms of alert %s", alert_id)
        await self._bus.publish(logged)
        return bool(effects)


def _alert_events(logged: Sequence[LoggedEvent]) -> list[AlertEvent]:
    return [item.event for item in logged if isinstance(item.event, AlertEvent)]
