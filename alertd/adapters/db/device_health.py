"""Device health rows (`core.supervision`): implements `alertd.app.supervision.HealthStore`.

Overdue devices are claimed per instance with `claim.claim_statement`, like the outbox.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from alertd.adapters import codec
from alertd.adapters.db import schema as t
from alertd.adapters.db.claim import Instance, claim_rows, claim_statement
from alertd.adapters.db.engine import Database, WriteSession
from alertd.adapters.db.event_log import append_events
from alertd.adapters.db.sites import insert_for
from alertd.app.ports import LoggedEvent
from alertd.core.notice import DomainEvent
from alertd.core.supervision import DeviceHealth

_H = t.device_health.c
_CLAIM_OVERDUE = claim_statement(
    t.device_health,
    due=sa.and_(_H.silent.is_(sa.false()), _H.due_at <= sa.bindparam("now")),
    returning=list(t.device_health.c),
)


def _values(health: DeviceHealth) -> dict[str, Any]:
    return {
        "device_name": health.device_name,
        "school_id": health.school_id,
        "room_id": health.room_id,
        "interval_seconds": int(health.interval.total_seconds()),
        "last_heard_at": codec.utc(health.last_heard_at),
        "battery_percent": health.battery_percent,
        "silent": health.silent,
        "low_battery": health.low_battery,
        "due_at": codec.utc(health.due_at),
        "claimed_by": None,
        "lease_until": None,
    }


def _health(row: Any) -> DeviceHealth:
    return DeviceHealth(
        device_id=row.id,
        device_name=row.device_name,
        school_id=row.school_id,
        room_id=row.room_id,
        interval=timedelta(seconds=row.interval_seconds),
        last_heard_at=codec.utc(row.last_heard_at),
        battery_percent=row.battery_percent,
        silent=row.silent,
        low_battery=row.low_battery,
    )


def save_health(conn: Connection, health: DeviceHealth) -> None:
    """Insert or replace the device's health row (unclaimed)."""
    values = _values(health)
    upsert = insert_for(conn.dialect.name, t.device_health).values(id=health.device_id, **values)
    conn.execute(upsert.on_conflict_do_update(index_elements=[_H.id], set_=values))


class SqlHealthTransaction:
    """Implements `alertd.app.supervision.HealthTransaction`."""

    def __init__(self, session: WriteSession, instance: Instance) -> None:
        self._session = session
        self._instance = instance

    async def health(self, device_id: str) -> DeviceHealth | None:
        def step(conn: Connection) -> DeviceHealth | None:
            query = sa.select(t.device_health).where(_H.id == device_id)
            if conn.dialect.name == "postgresql":
                query = query.with_for_update()
            row = conn.execute(query).first()
            return None if row is None else _health(row)

        return await self._session.run(step)

    async def save_health(self, health: DeviceHealth) -> None:
        await self._session.run(lambda conn: save_health(conn, health))

    async def claim_overdue(
        self, *, now: datetime, lease: timedelta, limit: int
    ) -> list[DeviceHealth]:
        def step(conn: Connection) -> list[DeviceHealth]:
            rows = claim_rows(
                conn, _CLAIM_OVERDUE, instance=self._instance, now=now, lease=lease, limit=limit
            )
            return [_health(row) for row in rows]

        return await self._session.run(step)

    async def append(self, events: Sequence[DomainEvent]) -> list[LoggedEvent]:
        if not events:
            return []
        return await self._session.run(lambda conn: append_events(conn, events))


class SqlHealthStore:
    """Implements `alertd.app.supervision.HealthStore`."""

    def __init__(self, db: Database, *, instance: Instance) -> None:
        self._db = db
        self._instance = instance

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqlHealthTransaction]:
        async with self._db.write() as session:
            yield SqlHealthTransaction(session, self._instance)
