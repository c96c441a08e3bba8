"""Use cases on alerts: one database transaction per command, events published after commit.

Every command is authorized here, inside its transaction, against the alert as it stands:
the permission table is in `alertd.core.permission`; this layer only asks it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from alertd.app.audience import audience_of
from alertd.app.ports import AlertFilter, Clock, EventBus, LoggedEvent, Store, Transaction
from alertd.core.alert import Alert, AlertState, EventType
from alertd.core.audit import AuditEntry
from alertd.core.command import AlertAction, AlertCommand, RaiseAlert
from alertd.core.drill_link import DrillLink
from alertd.core.errors import Forbidden, IdempotencyConflict, NotFound, ValidationFailed
from alertd.core.escalation import default_policy, start
from alertd.core.lifecycle import Decision, decide, raise_alert
from alertd.core.permission import (
    Action,
    Principal,
    Role,
    Verdict,
    authorize,
    others_visible_kinds,
)
from alertd.core.repeat import PressKey, repeated_alert
from alertd.core.routing import Audience
from alertd.core.site import Site

# Which permission each lifecycle command needs.
PERMISSION_FOR: dict[AlertAction, Action] = {
    AlertAction.ACKNOWLEDGE: Action.ACKNOWLEDGE,
    AlertAction.REPORT_STATUS: Action.REPORT_STATUS,
    AlertAction.RESOLVE: Action.RESOLVE,
    AlertAction.CANCEL: Action.CANCEL,
    AlertAction.GIVE_ALL_CLEAR: Action.GIVE_ALL_CLEAR,
    AlertAction.ADD_NOTE: Action.ADD_NOTE,
    AlertAction.UPGRADE: Action.UPGRADE,
}


_STARTS_ESCALATION = frozenset({EventType.ALERT_RAISED, EventType.ALERT_UPGRADED})


@dataclass(frozen=True, slots=True)
class Recorded:
    """What a command decided and the events it logged (published after the commit)."""

    decision: Decision
    logged: list[LoggedEvent]


@dataclass(frozen=True, slots=True)
class Raised:
    alert: Alert
    created: bool  # False: a retry (same Idempotency-Key) or a repeat press that joined it


def require(verdict: Verdict, *, what: str, ident: str, action: Action) -> None:
    """Turn a verdict into the error the client sees: 404 hides, 403 refuses."""
    if verdict is Verdict.HIDDEN:
        raise NotFound(what, ident)
    if verdict is Verdict.FORBIDDEN:
        raise Forbidden(f"not allowed to {action.value.replace('_', ' ')}")


class AlertService:
    """Raise alerts and move them through their lifecycle.

    Every method either commits all of its writes or none. Errors from `alertd.core.errors`
    are permanent for the request as sent; a database error may be retried by the client
    (raising is safe to retry thanks to the Idempotency-Key).
    """

    def __init__(
        self,
        *,
        store: Store,
        bus: EventBus,
        clock: Clock,
        repeat_window: timedelta = timedelta(seconds=10),
        on_effects_queued: Callable[[], None] = lambda: None,
        console_url: str | None = None,
    ) -> None:
        self._store = store
        self._bus = bus
        self._clock = clock
        self._repeat_window = repeat_window
        self._on_effects_queued = on_effects_queued
        self._console_url = console_url

    async def raise_alert(
        self, command: RaiseAlert, *, principal: Principal, idempotency_key: str, fingerprint: str
    ) -> Raised:
        """Open an alert; or return the one an earlier request with this key opened, or the
        open alert this press repeats (same raiser, room and kind within the window).

        Never rate-limited. The key is scoped to the actor. The same key with another
        `fingerprint` (a different body) raises IdempotencyConflict and writes nothing.
        """
        command = self.authorize_raise(command.normalize(), principal)
        actor = principal.actor
        new_id = str(uuid.uuid4())
        # A flood of one school's presses of one kind queues in a lane of its own, so that a
        # distinct alert (another kind or school) waits for at most one of them.
        lane = f"raise {command.school_id} {command.kind.value}"
        press = PressKey(
            raiser_id=actor.id,
            school_id=command.school_id,
            room_id=command.room_id,
            kind=command.kind,
            drill=command.drill,
        )
        async with self._store.transaction(lane) as tx:
            if self._repeat_window:
                # Presses that could repeat one another (same raiser, school, room, kind and
                # drill) take turns from here to commit, and the clock is read after the
                # wait, so that a press held up by another sees it as the earlier one it
                # repeats (PostgreSQL; several instances). Other presses run side by side.
                await tx.lock_press(press)
            now = self._clock.now()
            recent = await tx.recent_alerts(press, since=now - self._repeat_window)
            repeated = repeated_alert(
                recent,
                raiser_id=actor.id,
                room_id=command.room_id,
                kind=command.kind,
                drill=command.drill,
                now=now,
                window=self._repeat_window,
            )
            target = repeated.id if repeated is not None else new_id
            earlier = await tx.claim_idempotency_key(
                scope=actor.id, key=idempotency_key, fingerprint=fingerprint, alert_id=target
            )
            if earlier is not None:
                return Raised(
                    await self._retried(tx, earlier.alert_id, earlier.fingerprint, fingerprint),
                    created=False,
                )
            if repeated is not None:
                await tx.audit([_entry(principal, "alert.repeat_press", repeated, now)])
                return Raised(repeated, created=False)
            recorded = await self.open_in(
                tx, command, principal=principal, alert_id=new_id, now=now
            )
        await self.published(recorded)
        return Raised(recorded.decision.alert, created=True)

    async def list_alerts(self, query: AlertFilter, *, principal: Principal) -> list[Alert]:
        """Alerts `principal` may view that match `query`, newest first, up to its limit:
        visibility is filtered in the query, so a page is full whenever enough alerts are."""
        schools = query.school_ids if query.school_ids is not None else principal.school_ids
        if schools is not None and principal.school_ids is not None:
            schools &= principal.school_ids  # other schools' alerts are simply not there
        kinds = others_visible_kinds(principal)
        narrowed = replace(
            query,
            school_ids=schools,
            raised_by_or_kinds=(principal.actor.id, kinds) if kinds is not None else None,
        )
        return [
            alert
            for alert in await self._store.list_alerts(narrowed)
            if authorize(principal, Action.VIEW_ALERT, alert=alert) is Verdict.ALLOW
        ]

    async def act(self, alert_id: str, command: AlertCommand, *, principal: Principal) -> Alert:
        """Apply a lifecycle command. NotFound also hides alerts outside the principal's
        schools; Forbidden when the role may not; IllegalTransition names the state."""
        now = self._clock.now()
        async with self._store.transaction() as tx:
            alert = await tx.get_alert(alert_id)
            if alert is None:
                raise NotFound("alert", alert_id)
            action = PERMISSION_FOR[command.action]
            verdict = authorize(principal, action, alert=alert, now=now)
            require(verdict, what="alert", ident=alert_id, action=action)
            recorded = await self.apply_in(tx, alert, command, principal=principal, now=now)
            if not recorded.decision.events:
                return alert
        await self.published(recorded)
        return recorded.decision.alert

    async def open_in(
        self,
        tx: Transaction,
        command: RaiseAlert,
        *,
        principal: Principal,
        alert_id: str,
        now: datetime,
    ) -> Recorded:
        """Raise `command` (normalized and authorized by the caller) inside the caller's
        transaction: the alert, its events, effects, audit entry and escalation timer. No
        repeat-press or idempotency check: for use cases that own the transaction (a drill
        plan's start). Call `published` after the commit."""
        audience = await self._audience(
            tx, command.school_id, command.room_id, drill_link=command.drill_link
        )
        decision = raise_alert(
            command, alert_id=alert_id, actor=principal.actor, now=now, audience=audience
        )
        await self._escalate(tx, decision, now=now)
        logged = await tx.record(  # last: it holds the log and the audit trail until commit
            decision.alert,
            new=True,
            events=decision.events,
            effects=decision.effects,
            audit=[_entry(principal, "alert.raise", decision.alert, now)],
            now=now,
        )
        return Recorded(decision, logged)

    async def apply_in(
        self,
        tx: Transaction,
        alert: Alert,
        command: AlertCommand,
        *,
        principal: Principal,
        now: datetime,
    ) -> Recorded:
        """Apply a lifecycle command (authorized by the caller) to `alert`, read in `tx`.
        No events: nothing changed, nothing written. Call `published` after the commit."""
        audience = await self._audience(
            tx, alert.school_id, alert.room_id, drill_link=alert.drill_link
        )
        decision = decide(alert, command, actor=principal.actor, now=now, audience=audience)
        if not decision.events:
            return Recorded(decision, [])
        await self._escalate(tx, decision, now=now)
        logged = await tx.record(  # last: it holds the log and the audit trail until commit
            decision.alert,
            new=False,
            events=decision.events,
            effects=decision.effects,
            audit=[_entry(principal, f"alert.{command.action.value}", decision.alert, now)],
            now=now,
        )
        return Recorded(decision, logged)

    async def published(self, recorded: Recorded) -> None:
        """After the commit of `open_in` / `apply_in`: publish the events, wake the relay."""
        await self._after_commit(recorded.logged, has_effects=bool(recorded.decision.effects))

    async def _escalate(self, tx: Transaction, decision: Decision, *, now: datetime) -> None:
        """A raise (or an upgrade, which must be acknowledged afresh) starts the alert's
        escalation, in the same transaction. It stops by itself once somebody answers."""
        if not any(e.type in _STARTS_ESCALATION for e in decision.events):
            return
        alert = decision.alert
        if alert.state is not AlertState.RAISED:  # pragma: no cover - raise/upgrade do
            return
        policy = await tx.escalation_policy(school_id=alert.school_id, kind=alert.kind)
        escalation = start(alert, policy or default_policy(alert.kind), now=now)
        await tx.save_escalation(escalation, drill=alert.drill)

    async def load_site(self, site: Site, *, principal: Principal) -> None:
        """Create or replace the schools of a site document, all of them or none, audited.

        The operator's command line passes `alertd.core.operator.OPERATOR`, start-up
        seeding `STARTUP`.
        """
        for school in site.schools:
            verdict = authorize(principal, Action.MANAGE_SITES, school_id=school.id)
            if verdict is not Verdict.ALLOW:
                raise Forbidden(f"not allowed to manage the site of {school.id!r}")
        now = self._clock.now()
        async with self._store.transaction() as tx:
            await tx.save_site(site)
            await tx.audit(
                [
                    AuditEntry.by(
                        principal, "site.load", at=now, school_id=school.id, subject=school.id
                    )
                    for school in site.schools
                ]
            )

    def authorize_raise(self, command: RaiseAlert, principal: Principal) -> RaiseAlert:
        """The command as `principal` may raise it (a device's source and room filled in);
        ValidationFailed for a school outside its own, Forbidden for what it may not."""
        # Raising somewhere outside one's schools looks exactly like an unknown school.
        if authorize(principal, Action.RAISE_ALERT, school_id=command.school_id) is Verdict.HIDDEN:
            raise ValidationFailed("school_id", f"unknown school {command.school_id!r}")
        if command.drill:
            verdict = authorize(principal, Action.RAISE_DRILL, school_id=command.school_id)
            if verdict is not Verdict.ALLOW:
                raise Forbidden("only drill coordinators and admins run drills")
        if principal.source is not None:
            command = replace(command, source=principal.source)  # a device is what it is
        elif command.source is not None and command.source.is_device:
            raise Forbidden(f"only a signed {command.source.value} device raises as one")
        if principal.role is Role.DEVICE and principal.room_id is not None:
            # A wall button speaks for its own room only: nobody can pose as another room's.
            if command.room_id not in (None, principal.room_id):
                raise Forbidden("this device raises alerts for its own room only")
            command = replace(command, room_id=principal.room_id)
        return command

    async def _retried(
        self, tx: Transaction, alert_id: str, stored: str, fingerprint: str
    ) -> Alert:
        if stored != fingerprint:
            raise IdempotencyConflict("this Idempotency-Key was used for a different request")
        alert = await tx.get_alert(alert_id)
        if alert is None:  # pragma: no cover - the key and the alert commit together
            raise NotFound("alert", alert_id)
        return alert

    async def _audience(
        self,
        tx: Transaction,
        school_id: str,
        room_id: str | None,
        *,
        drill_link: DrillLink | None,
    ) -> Audience:
        return await audience_of(
            tx, school_id, room_id, console_url=self._console_url, drill_link=drill_link
        )

    async def _after_commit(self, logged: Sequence[LoggedEvent], *, has_effects: bool) -> None:
        # Publishing is best effort: a subscriber that misses a message finds the gap by id
        # and reads it from the log, so a failure here loses nothing.
        await self._bus.publish(logged)
        if has_effects:
            self._on_effects_queued()


def _entry(principal: Principal, action: str, alert: Alert, now: datetime) -> AuditEntry:
    return AuditEntry.by(
        principal,
        action,
        at=now,
        school_id=alert.school_id,
        subject=alert.id,
        detail={"kind": alert.kind.value, "state": alert.state.value, "drill": alert.drill},
    )
