"""Use cases on alerts: one database transaction per command, events published after commit."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from alertd.app.ports import (
    Clock,
    EventBus,
    LoggedEvent,
    Store,
    Transaction,
)
from alertd.core.actor import Actor
from alertd.core.alert import Alert
from alertd.core.command import AlertCommand, RaiseAlert
from alertd.core.errors import IdempotencyConflict, NotFound, ValidationFailed
from alertd.core.lifecycle import decide, raise_alert
from alertd.core.routing import Audience
from alertd.core.site import Site


@dataclass(frozen=True, slots=True)
class Raised:
    alert: Alert
    created: bool  # False: an earlier request with the same Idempotency-Key made it


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
        on_effects_queued: Callable[[], None] = lambda: None,
    ) -> None:
        self._store = store
        self._bus = bus
        self._clock = clock
        self._on_effects_queued = on_effects_queued

    async def raise_alert(
        self, command: RaiseAlert, *, actor: Actor, idempotency_key: str, fingerprint: str
    ) -> Raised:
        """Open an alert, or return the one an earlier request with this key opened.

        The key is scoped to the actor. The same key with another `fingerprint` (a different
        request body) raises IdempotencyConflict and writes nothing.
        """
        command = command.normalize()
        alert_id = str(uuid.uuid4())
        async with self._store.transaction() as tx:
            earlier = await tx.claim_idempotency_key(
                scope=actor.id, key=idempotency_key, fingerprint=fingerprint, alert_id=alert_id
            )
            if earlier is not None:
                if earlier.fingerprint != fingerprint:
                    raise IdempotencyConflict(
                        "this Idempotency-Key was used for a different request"
                    )
                alert = await tx.get_alert(earlier.alert_id)
                if alert is None:  # pragma: no cover - the key and the alert commit together
                    raise NotFound("alert", earlier.alert_id)
                return Raised(alert, created=False)
            audience = await self._audience(tx, command.school_id, command.room_id)
            now = self._clock.now()
            decision = raise_alert(
                command, alert_id=alert_id, actor=actor, now=now, audience=audience
            )
            logged = await tx.record(
                decision.alert, new=True, events=decision.events, effects=decision.effects, now=now
            )
        await self._after_commit(logged, has_effects=bool(decision.effects))
        return Raised(decision.alert, created=True)

    async def act(self, alert_id: str, command: AlertCommand, *, actor: Actor) -> Alert:
        """Apply a lifecycle command. IllegalTransition names the state the alert is in."""
        async with self._store.transaction() as tx:
            alert = await tx.get_alert(alert_id)
            if alert is None:
                raise NotFound("alert", alert_id)
            audience = await self._audience(tx, alert.school_id, alert.room_id)
            now = self._clock.now()
            decision = decide(alert, command, actor=actor, now=now, audience=audience)
            if not decision.events:
                return alert
            logged = await tx.record(
                decision.alert, new=False, events=decision.events, effects=decision.effects, now=now
            )
        await self._after_commit(logged, has_effects=bool(decision.effects))
        return decision.alert

    async def load_site(self, site: Site) -> None:
        """Create or replace the schools of a site document, all of them or none."""
        async with self._store.transaction() as tx:
            await tx.save_site(site)

    async def _audience(self, tx: Transaction, school_id: str, room_id: str | None) -> Audience:
        site = await tx.site_context(school_id=school_id, room_id=room_id)
        if site.school is None:
            raise ValidationFailed("school_id", f"unknown school {school_id!r}")
        if room_id is not None and (site.room is None or site.room.school_id != school_id):
            raise ValidationFailed("room_id", f"unknown room {room_id!r} at {school_id!r}")
        label = site.room.label if site.room else None
        return Audience(site.school.name, label, site.recipients)

    async def _after_commit(self, logged: Sequence[LoggedEvent], *, has_effects: bool) -> None:
        # Publishing is best effort: a subscriber that misses a message finds the gap by id
        # and reads it from the log, so a failure here loses nothing.
        await self._bus.publish(logged)
        if has_effects:
            self._on_effects_queued()
