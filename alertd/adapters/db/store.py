"""The Store and Transaction ports, as synchronous SQLAlchemy Core steps.

Each public coroutine is one step: a plain function of a `Connection` run by `Database`
(on the SQLite writer thread, or on asyncpg through `run_sync`). Statements are built once,
at import, with bind parameters.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from alertd.adapters import codec
from alertd.adapters.db import ledger, outbox, sites, timers
from alertd.adapters.db import schema as t
from alertd.adapters.db.audit import append_audit
from alertd.adapters.db.claim import Instance
from alertd.adapters.db.engine import Database, WriteSession
from alertd.adapters.db.event_log import append_events
from alertd.adapters.db.fair_lock import DEFAULT_LANE
from alertd.adapters.db.lock import LockKind, press_lock_key, xact_lock
from alertd.adapters.db.push import push_targets
from alertd.adapters.db.sites import insert_for, recipients_at, save_site
from alertd.app.ports import (
    AlertFilter,
    IdempotencyRecord,
    LoggedEvent,
    LogQuery,
    OutboxItem,
    RoomRef,
    SchoolRef,
    Settlement,
    SiteContext,
)
from alertd.core.alert import Alert, AlertEvent, EventType
from alertd.core.audit import AuditEntry
from alertd.core.delivery import Delivery
from alertd.core.effect import Effect
from alertd.core.escalation import Escalation, Policy
from alertd.core.kind import AlertKind
from alertd.core.notice import DomainEvent
from alertd.core.repeat import PressKey
from alertd.core.site import School, Site

_SELECT_SCHOOL = sa.select(
    t.schools.c.id, t.schools.c.name, t.schools.c.doc["timezone"].as_string().label("timezone")
).where(t.schools.c.id == sa.bindparam("school_id"))
_SELECT_ROOM = sa.select(t.rooms.c.id, t.rooms.c.school_id, t.rooms.c.label).where(
    t.rooms.c.id == sa.bindparam("room_id")
)
_SELECT_ALERT = sa.select(t.alerts.c.body).where(t.alerts.c.id == sa.bindparam("alert_id"))
_SELECT_KEY = sa.select(t.idempotency_keys.c.alert_id, t.idempotency_keys.c.fingerprint).where(
    t.idempotency_keys.c.scope == sa.bindparam("scope"),
    t.idempotency_keys.c.key == sa.bindparam("key"),
)
_INSERT_ALERT = sa.insert(t.alerts)
_UPDATE_ALERT = sa.update(t.alerts).where(t.alerts.c.id == sa.bindparam("alert_id"))
_SELECT_RECENT_ANY_ROOM = (
    sa.select(t.alerts.c.body)
    .where(
        t.alerts.c.school_id == sa.bindparam("school_id"),
        t.alerts.c.raised_at >= sa.bindparam("since"),
        t.alerts.c.state.in_(["raised", "acknowledged", "responding"]),
        # The index narrows to this school's last seconds; these to the press's key.
        t.alerts.c.raised_by == sa.bindparam("raised_by"),
        t.alerts.c.kind == sa.bindparam("kind"),
        t.alerts.c.drill == sa.bindparam("drill"),
    )
    .order_by(t.alerts.c.raised_at.desc())
)
# A press names a room, or none (campus-wide): `room_id = NULL` would match nothing.
_SELECT_RECENT_IN_ROOM = _SELECT_RECENT_ANY_ROOM.where(
    t.alerts.c.room_id == sa.bindparam("room_id")
)
_SELECT_RECENT_NO_ROOM = _SELECT_RECENT_ANY_ROOM.where(t.alerts.c.room_id.is_(None))
_SELECT_HEAD = sa.select(t.log_head.c.last_event_id).where(t.log_head.c.id == 1)
_SELECT_RELAY = sa.select(t.event_relay.c.published_through).where(
    t.event_relay.c.name == sa.bindparam("relay")
)
_ADVANCE_RELAY = (
    sa.update(t.event_relay)
    .where(t.event_relay.c.name == sa.bindparam("relay"))
    .values(published_through=sa.bindparam("position"))
)


_ALERT_EVENT_TYPES = sorted(e.value for e in EventType)


def _alert_columns(alert: Alert) -> dict[str, Any]:
    return {
        "school_id": alert.school_id,
        "raised_by": alert.raised_by.id,
        "room_id": alert.room_id,
        "kind": alert.kind.value,
        "state": alert.state.value,
        "drill": alert.drill,
        "raised_at": codec.utc(alert.raised_at),
        "updated_at": codec.utc(alert.updated_at),
        "version": alert.version,
        "body": codec.alert_to_dict(alert),
    }


class SqlTransaction:
    """Implements `alertd.app.ports.Transaction`."""

    def __init__(self, session: WriteSession, *, is_sqlite: bool) -> None:
        self._session = session
        self._is_sqlite = is_sqlite

    async def claim_idempotency_key(
        self, *, scope: str, key: str, fingerprint: str, alert_id: str
    ) -> IdempotencyRecord | None:
        def step(conn: Connection) -> IdempotencyRecord | None:
            claim = insert_for(conn.dialect.name, t.idempotency_keys).on_conflict_do_nothing()
            values = {"scope": scope, "key": key, "fingerprint": fingerprint, "alert_id": alert_id}
            if conn.execute(claim, values).rowcount == 1:
                return None
            row = conn.execute(_SELECT_KEY, {"scope": scope, "key": key}).one()
            return IdempotencyRecord(alert_id=row.alert_id, fingerprint=row.fingerprint)

        return await self._session.run(step)

    async def site_context(self, *, school_id: str, room_id: str | None) -> SiteContext:
        def step(conn: Connection) -> SiteContext:
            school = conn.execute(_SELECT_SCHOOL, {"school_id": school_id}).first()
            room = None
            if room_id is not None:
                room = conn.execute(_SELECT_ROOM, {"room_id": room_id}).first()
            return SiteContext(
                school=SchoolRef(school.id, school.name) if school else None,
                room=RoomRef(room.id, room.school_id, room.label) if room else None,
                recipients=recipients_at(conn, school_id),
                timezone=(school.timezone if school else None) or "UTC",
                push_targets=push_targets(conn, school_id),
            )

        return await self._session.run(step)

    async def get_alert(self, alert_id: str) -> Alert | None:
        lock = not self._is_sqlite  # SQLite's single writer already excludes everyone else

        def step(conn: Connection) -> Alert | None:
            query = _SELECT_ALERT.with_for_update() if lock else _SELECT_ALERT
            body = conn.execute(query, {"alert_id": alert_id}).scalar_one_or_none()
            return codec.alert_from_dict(body) if body is not None else None

        return await self._session.run(step)

    async def lock_press(self, press: PressKey) -> None:
        # An advisory lock on PostgreSQL; on SQLite the single writer already orders them.
        if not self._is_sqlite:
            key = press_lock_key(press)
            await self._session.run(lambda conn: xact_lock(conn, LockKind.PRESS, key))

    async def recent_alerts(self, press: PressKey, *, since: datetime) -> list[Alert]:
        select = _SELECT_RECENT_NO_ROOM if press.room_id is None else _SELECT_RECENT_IN_ROOM
        values = {
            "school_id": press.school_id,
            "since": codec.utc(since),
            "raised_by": press.raiser_id,
            "kind": press.kind.value,
            "drill": press.drill,
            "room_id": press.room_id,
        }

        def step(conn: Connection) -> list[Alert]:
            return [codec.alert_from_dict(r.body) for r in conn.execute(select, values)]

        return await self._session.run(step)

    async def audit(self, entries: Sequence[AuditEntry]) -> None:
        await self._session.run(lambda conn: append_audit(conn, entries))

    async def append(self, events: Sequence[DomainEvent]) -> list[LoggedEvent]:
        if not events:
            return []
        return await self._session.run(lambda conn: append_events(conn, events))

    async def settle_effects(self, settlements: Sequence[Settlement]) -> list[Delivery]:
        return await self._session.run(lambda conn: outbox.settle_effects(conn, settlements))

    async def save_deliveries(self, deliveries: Sequence[Delivery]) -> None:
        await self._session.run(lambda conn: outbox.save_deliveries(conn, deliveries))

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
        def step(conn: Connection) -> list[LoggedEvent]:
            if new:
                conn.execute(_INSERT_ALERT, {"id": alert.id, **_alert_columns(alert)})
            else:
                conn.execute(_UPDATE_ALERT, {"alert_id": alert.id, **_alert_columns(alert)})
            if effects:
                outbox.queue_effects(conn, effects, school_id=alert.school_id, now=now)
            # The two heads last: each is held from its bump to the commit, and every
            # command of every instance waits for it (the log's, then the audit's).
            logged = append_events(conn, events)
            append_audit(conn, audit)
            return logged

        return await self._session.run(step)

    async def save_site(self, site: Site) -> None:
        await self._session.run(lambda conn: save_site(conn, site), offload=True)

    async def get_school(self, school_id: str) -> School | None:
        return await self._session.run(lambda conn: _school(conn, school_id))

    async def sole_district(self) -> str | None:
        return await self._session.run(sites.sole_district)

    async def save_school(self, school: School) -> None:
        await self._session.run(lambda conn: sites.save_school(conn, school))

    async def claim_relay(self, name: str) -> int | None:
        def step(conn: Connection) -> int | None:
            # The first relay starts at the head: the log before it was never on the bus.
            start = sa.select(sa.literal(name), t.log_head.c.last_event_id).where(
                t.log_head.c.id == 1
            )
            insert = insert_for(conn.dialect.name, t.event_relay).from_select(
                ["name", "published_through"], start
            )
            conn.execute(insert.on_conflict_do_nothing())
            query = _SELECT_RELAY
            if conn.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            position = conn.execute(query, {"relay": name}).scalar_one_or_none()
            return int(position) if position is not None else None

        return await self._session.run(step)

    async def advance_relay(self, name: str, position: int) -> None:
        await self._session.run(
            lambda conn: conn.execute(_ADVANCE_RELAY, {"relay": name, "position": position})
        )

    async def queue_effects(
        self, effects: Sequence[Effect], *, school_id: str, now: datetime
    ) -> None:
        if effects:
            await self._session.run(
                lambda conn: outbox.queue_effects(conn, effects, school_id=school_id, now=now)
            )

    async def escalation_policy(self, *, school_id: str, kind: AlertKind) -> Policy | None:
        steps = await self._session.run(lambda conn: timers.policy_of(conn, school_id, kind))
        return codec.policy_from_json(steps) if steps is not None else None

    async def save_escalation(self, escalation: Escalation, *, drill: bool = False) -> None:
        await self._session.run(lambda conn: timers.save(conn, escalation, drill=drill))

    async def escalation_is_current(self, escalation: Escalation) -> bool:
        lock = not self._is_sqlite  # SQLite's single writer already excludes everyone else
        return await self._session.run(lambda conn: timers.is_current(conn, escalation, lock=lock))

    async def hasten_escalations(self, alert_ids: Sequence[str], *, now: datetime) -> None:
        ids = sorted(set(alert_ids))
        if ids:
            await self._session.run(lambda conn: timers.hasten(conn, ids, now))

    async def delivery_by_ref(self, provider_ref: str) -> Delivery | None:
        lock = not self._is_sqlite
        return await self._session.run(
            lambda conn: ledger.delivery_by_ref(conn, provider_ref, lock=lock)
        )

    async def latest_delivery_to(self, address: str) -> Delivery | None:
        return await self._session.run(lambda conn: ledger.latest_delivery_to(conn, address))

    async def set_opt_out(self, address: str, *, stopped: bool, now: datetime) -> None:
        await self._session.run(
            lambda conn: ledger.set_opt_out(conn, address, stopped=stopped, now=now)
        )


def _school(conn: Connection, school_id: str) -> School | None:
    row = conn.execute(
        sa.select(t.schools.c.doc, t.schools.c.district_id).where(t.schools.c.id == school_id)
    ).first()
    return codec.school_from_dict(row.doc, district_id=row.district_id) if row else None


class SqlStore:
    """Implements `alertd.app.ports.Store`."""

    def __init__(self, db: Database, *, instance: Instance) -> None:
        self._db = db
        self.instance = instance  # named by this process's claims

    @asynccontextmanager
    async def transaction(self, lane: str = DEFAULT_LANE) -> AsyncIterator[SqlTransaction]:
        async with self._db.write(lane) as session:
            yield SqlTransaction(session, is_sqlite=self._db.is_sqlite)

    async def get_alert(self, alert_id: str) -> Alert | None:
        def step(conn: Connection) -> Alert | None:
            body = conn.execute(_SELECT_ALERT, {"alert_id": alert_id}).scalar_one_or_none()
            return codec.alert_from_dict(body) if body is not None else None

        return await self._db.read(step)

    async def list_alerts(self, query: AlertFilter) -> list[Alert]:
        c = t.alerts.c
        select = sa.select(c.body).order_by(c.raised_at.desc(), c.id).limit(query.limit)
        if query.school_ids is not None:
            select = select.where(c.school_id.in_(sorted(query.school_ids)))
        if query.states is not None:
            select = select.where(c.state.in_(sorted(s.value for s in query.states)))
        if query.kinds is not None:
            select = select.where(c.kind.in_(sorted(k.value for k in query.kinds)))
        if query.drill is not None:
            select = select.where(c.drill == query.drill)
        if query.raised_after is not None:
            select = select.where(c.raised_at >= codec.utc(query.raised_after))
        if query.raised_before is not None:
            select = select.where(c.raised_at < codec.utc(query.raised_before))
        if query.raised_by_or_kinds is not None:
            raiser, kinds = query.raised_by_or_kinds
            select = select.where(
                sa.or_(c.raised_by == raiser, c.kind.in_(sorted(k.value for k in kinds)))
            )
        return await self._db.read(
            lambda conn: [codec.alert_from_dict(r.body) for r in conn.execute(select)]
        )

    async def _logged(self, select: sa.Select[Any]) -> list[LoggedEvent]:
        return await self._db.read(
            lambda conn: [codec.logged_from_body(r.id, r.body) for r in conn.execute(select)]
        )

    async def timeline(self, alert_id: str) -> list[LoggedEvent]:
        c = t.events.c
        return await self._logged(
            sa.select(c.id, c.body)
            .where(c.alert_id == alert_id, c.type.in_(_ALERT_EVENT_TYPES))
            .order_by(c.id)
        )

    async def timelines(self, alert_ids: Collection[str]) -> dict[str, list[LoggedEvent]]:
        found: dict[str, list[LoggedEvent]] = {alert_id: [] for alert_id in alert_ids}
        if not found:
            return found
        c = t.events.c
        for logged in await self._logged(
            sa.select(c.id, c.body)
            .where(c.alert_id.in_(sorted(found)), c.type.in_(_ALERT_EVENT_TYPES))
            .order_by(c.id)
        ):
            found[str(logged.event.alert_id)].append(logged)
        return found

    async def deliveries(self, alert_id: str) -> list[Delivery]:
        return await self._db.read(lambda conn: outbox.deliveries_of(conn, alert_id))

    async def read_log(self, query: LogQuery) -> list[LoggedEvent]:
        c = t.events.c
        select = sa.select(c.id, c.body).where(c.id > query.after).order_by(c.id).limit(query.limit)
        if query.school_ids is not None:
            select = select.where(c.school_id.in_(sorted(query.school_ids)))
        return await self._logged(select)

    async def last_event_id(self) -> int:
        return await self._db.read(lambda conn: int(conn.execute(_SELECT_HEAD).scalar_one()))

    async def schools(self) -> list[SchoolRef]:
        select = sa.select(t.schools.c.id, t.schools.c.name).order_by(t.schools.c.id)
        return await self._db.read(
            lambda conn: [SchoolRef(r.id, r.name) for r in conn.execute(select)]
        )

    async def school(self, school_id: str) -> School | None:
        return await self._db.read(lambda conn: _school(conn, school_id))

    async def due_effects(self, *, now: datetime, limit: int) -> list[OutboxItem]:
        async with self._db.write() as session:
            return await session.run(
                lambda conn: outbox.claim_due(conn, now, limit, instance=self.instance)
            )

    async def record_provider_ref(
        self, delivery_id: int, *, provider_ref: str, sender: str | None, repeat_possible: bool
    ) -> None:
        async with self._db.write() as session:
            await session.run(
                lambda conn: ledger.record_provider_ref(
                    conn,
                    delivery_id,
                    provider_ref=provider_ref,
                    sender=sender,
                    repeat_possible=repeat_possible,
                )
            )

    async def due_escalations(self, *, now: datetime, limit: int) -> list[Escalation]:
        if not await self._db.read(lambda conn: timers.any_due(conn, now)):
            return []  # the usual case: no write lock for an idle poll
        async with self._db.write() as session:
            return await session.run(
                lambda conn: timers.claim_due(conn, now, limit, instance=self.instance)
            )

    async def release_claims(self) -> int:
        async with self._db.write() as session:
            return await session.run(
                lambda conn: outbox.release_claims(conn) + timers.release_claims(conn)
            )

    async def release_own_claims(self) -> int:
        """Give back the effects and escalations this instance claimed and has not run (a
        clean shutdown)."""
        async with self._db.write() as session:
            return await session.run(
                lambda conn: (
                    outbox.release_own_claims(conn, self.instance)
                    + timers.release_own_claims(conn, self.instance)
                )
            )

    async def ping(self) -> None:
        await self._db.read(lambda conn: conn.execute(sa.select(sa.literal(1))).scalar_one())
