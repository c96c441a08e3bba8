"""The roll's store: implements `alertd.app.roll.RollStore` on top of the alerts store.

Reports are events of the alert's log (written by `SqlTransaction.record`); what is the
roll's own is the reminder timer per alert (`roll_timers`, claimed with `claim.py` like the
outbox) and the Idempotency-Keys of reports (`roll_keys`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import Connection

from alertd.adapters import codec
from alertd.adapters.db import schema as t
from alertd.adapters.db.claim import Instance, claim_rows, claim_statement, sweep_unlocked
from alertd.adapters.db.engine import Database, WriteSession
from alertd.adapters.db.fair_lock import DEFAULT_LANE
from alertd.adapters.db.sites import insert_for
from alertd.adapters.db.store import SqlStore, SqlTransaction
from alertd.app.ports import LoggedEvent
from alertd.app.roll import RollKey
from alertd.core.alert import OPEN_STATES, Alert, EventType
from alertd.core.kind import AlertKind
from alertd.core.roll import keeps_roll
from alertd.core.site import School

_R = t.roll_timers.c
_A = t.alerts.c
_E = t.events.c
_K = t.roll_keys.c
_OPEN = sorted(s.value for s in OPEN_STATES)
_KEPT = sorted(k.value for k in AlertKind if keeps_roll(k))
_ALERT_EVENT_TYPES = sorted(e.value for e in EventType)

_ROLL_ALERTS = sa.and_(_A.state.in_(_OPEN), _A.kind.in_(_KEPT))
_TIMER_OF = sa.select(_R.alert_id).where(_R.alert_id == _A.id)
_MISSING = sa.select(_A.id, _A.school_id, _A.kind, _A.drill).where(
    _ROLL_ALERTS, ~sa.exists(_TIMER_OF)
)
# Timers whose alert changed kind (an upgrade: a new roll), or closed, or keeps no roll.
_KIND_OF_ALERT = sa.select(_A.kind).where(_A.id == _R.alert_id).scalar_subquery()
_STALE = sa.or_(_R.kind != _KIND_OF_ALERT, _KIND_OF_ALERT.is_(None))
_GONE = ~sa.exists(sa.select(_A.id).where(_A.id == _R.alert_id, _ROLL_ALERTS))

_CLAIM_DUE = claim_statement(
    t.roll_timers,
    due=_R.due_at <= sa.bindparam("now"),
    returning=(_R.alert_id, _R.priority, _R.due_at),
    order_by=(_R.priority, _R.due_at),  # real alerts' first, the most overdue first
)


def out_of_sync(conn: Connection) -> bool:
    """Does an open alert that keeps a roll lack a timer, or a timer outlive its roll?"""
    missing = conn.execute(_MISSING.limit(1)).first() is not None
    if missing:
        return True
    stale = sa.select(_R.alert_id).where(sa.or_(_GONE, _STALE)).limit(1)
    return conn.execute(stale).first() is not None


def sync_timers(conn: Connection, now: datetime) -> None:
    """Timers for alerts that keep a roll and lack one (due now), timers restarted for
    alerts whose kind changed, and timers of alerts that keep no roll any more dropped."""
    now = codec.utc(now)
    sweep_unlocked(conn, t.roll_timers, _GONE)
    conn.execute(
        sa.update(t.roll_timers)
        .where(_STALE)
        .values(kind=_KIND_OF_ALERT, due_at=now, claimed_by=None, lease_until=None)
    )
    rows = conn.execute(_MISSING).all()
    if rows:
        conn.execute(
            insert_for(conn.dialect.name, t.roll_timers).on_conflict_do_nothing(),
            [
                {
                    "alert_id": r.id,
                    "school_id": r.school_id,
                    "kind": r.kind,
                    "priority": 1 if r.drill else 0,
                    "due_at": now,
                }
                for r in rows
            ],
        )


class SqlRollTransaction(SqlTransaction):
    """Implements `alertd.app.roll.RollTransaction`: the alerts transaction, and the roll's."""

    def __init__(self, session: WriteSession, *, is_sqlite: bool, instance: Instance) -> None:
        super().__init__(session, is_sqlite=is_sqlite)
        self._instance = instance

    async def alert_events(self, alert_id: str) -> list[LoggedEvent]:
        select = (
            sa.select(_E.id, _E.body)
            .where(_E.alert_id == alert_id, _E.type.in_(_ALERT_EVENT_TYPES))
            .order_by(_E.id)
        )
        return await self._session.run(
            lambda conn: [codec.logged_from_body(r.id, r.body) for r in conn.execute(select)]
        )

    async def claim_roll_key(self, *, scope: str, key: str, fingerprint: str) -> RollKey | None:
        def step(conn: Connection) -> RollKey | None:
            claim = insert_for(conn.dialect.name, t.roll_keys).on_conflict_do_nothing()
            values = {"scope": scope, "key": key, "fingerprint": fingerprint, "event_id": None}
            if conn.execute(claim, values).rowcount == 1:
                return None
            row = conn.execute(
                sa.select(_K.fingerprint, _K.event_id).where(_K.scope == scope, _K.key == key)
            ).one()
            return RollKey(row.fingerprint, row.event_id)

        return await self._session.run(step)

    async def settle_roll_key(self, *, scope: str, key: str, event_id: int) -> None:
        update = (
            sa.update(t.roll_keys).where(_K.scope == scope, _K.key == key).values(event_id=event_id)
        )
        await self._session.run(lambda conn: conn.execute(update))

    async def logged_event(self, event_id: int) -> LoggedEvent | None:
        def step(conn: Connection) -> LoggedEvent | None:
            row = conn.execute(sa.select(_E.id, _E.body).where(_E.id == event_id)).first()
            return codec.logged_from_body(row.id, row.body) if row is not None else None

        return await self._session.run(step)

    async def sync_roll_timers(self, *, now: datetime) -> None:
        await self._session.run(lambda conn: sync_timers(conn, now))

    async def claim_due_rolls(self, *, now: datetime, lease: timedelta, limit: int) -> list[str]:
        def step(conn: Connection) -> list[str]:
            rows = claim_rows(
                conn, _CLAIM_DUE, instance=self._instance, now=now, lease=lease, limit=limit
            )
            return [r.alert_id for r in sorted(rows, key=lambda r: (r.priority, r.due_at))]

        return await self._session.run(step)

    async def save_roll_timer(self, alert_id: str, *, due_at: datetime | None) -> None:
        update = (
            sa.update(t.roll_timers)
            .where(_R.alert_id == alert_id)
            .values(
                due_at=codec.utc(due_at) if due_at is not None else None,
                claimed_by=None,
                lease_until=None,
            )
        )
        await self._session.run(lambda conn: conn.execute(update))

    async def drop_roll_timer(self, alert_id: str) -> None:
        delete = sa.delete(t.roll_timers).where(_R.alert_id == alert_id)
        await self._session.run(lambda conn: conn.execute(delete))


class SqlRollStore:
    """Implements `alertd.app.roll.RollStore`."""

    def __init__(self, db: Database, *, store: SqlStore, instance: Instance) -> None:
        self._db = db
        self._store = store
        self._instance = instance

    @asynccontextmanager
    async def transaction(self, lane: str = DEFAULT_LANE) -> AsyncIterator[SqlRollTransaction]:
        async with self._db.write(lane) as session:
            yield SqlRollTransaction(session, is_sqlite=self._db.is_sqlite, instance=self._instance)

    async def get_alert(self, alert_id: str) -> Alert | None:
        return await self._store.get_alert(alert_id)

    async def timeline(self, alert_id: str) -> list[LoggedEvent]:
        return await self._store.timeline(alert_id)

    async def school(self, school_id: str) -> School | None:
        return await self._store.school(school_id)

    async def rolls_out_of_sync(self) -> bool:
        return await self._db.read(out_of_sync)

    async def any_roll_due(self, *, now: datetime) -> bool:
        due = sa.select(_R.alert_id).where(_R.due_at <= codec.utc(now)).limit(1)
        return await self._db.read(lambda conn: conn.execute(due).first() is not None)
