"""The Store and Transaction ports on SQLAlchemy Core, for SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from alertd.adapters import codec
from alertd.adapters.db import schema as t
from alertd.adapters.db.engine import Database
from alertd.app.ports import (
    AlertFilter,
    IdempotencyRecord,
    LoggedEvent,
    LogQuery,
    OutboxItem,
    RoomRef,
    SchoolRef,
)
from alertd.core.alert import Alert, AlertEvent
from alertd.core.effect import Effect, SendSms
from alertd.core.routing import Recipient, RecipientKind
from alertd.core.site import School, Site, place_label, recipients_of

LEASE_SECONDS = 60  # an effect claimed by a worker that died is retried after this


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def _effect_body(effect: Effect) -> dict[str, Any]:
    return {
        "alert_id": effect.alert_id,
        "recipient_id": effect.recipient_id,
        "to": effect.to,
        "body": effect.body,
        "drill": effect.drill,
    }


class SqlTransaction:
    def __init__(self, conn: AsyncConnection, *, is_sqlite: bool) -> None:
        self._conn = conn
        self._is_sqlite = is_sqlite

    def _insert(self, table: sa.Table) -> Any:
        return (sqlite.insert if self._is_sqlite else postgresql.insert)(table)

    async def claim_idempotency_key(
        self, *, scope: str, key: str, fingerprint: str, alert_id: str
    ) -> IdempotencyRecord | None:
        claim = (
            self._insert(t.idempotency_keys)
            .values(scope=scope, key=key, fingerprint=fingerprint, alert_id=alert_id)
            .on_conflict_do_nothing()
        )
        if (await self._conn.execute(claim)).rowcount == 1:
            return None
        row = (
            await self._conn.execute(
                sa.select(t.idempotency_keys.c.alert_id, t.idempotency_keys.c.fingerprint).where(
                    t.idempotency_keys.c.scope == scope, t.idempotency_keys.c.key == key
                )
            )
        ).one()
        return IdempotencyRecord(alert_id=row.alert_id, fingerprint=row.fingerprint)

    async def school_ref(self, school_id: str) -> SchoolRef | None:
        query = sa.select(t.schools.c.id, t.schools.c.name).where(t.schools.c.id == school_id)
        row = (await self._conn.execute(query)).first()
        return SchoolRef(row.id, row.name) if row else None

    async def room_ref(self, room_id: str) -> RoomRef | None:
        query = sa.select(t.rooms.c.id, t.rooms.c.school_id, t.rooms.c.label).where(
            t.rooms.c.id == room_id
        )
        row = (await self._conn.execute(query)).first()
        return RoomRef(row.id, row.school_id, row.label) if row else None

    async def recipients(self, school_id: str) -> tuple[Recipient, ...]:
        query = (
            sa.select(t.recipients)
            .where(t.recipients.c.school_id == school_id)
            .order_by(t.recipients.c.id)
        )
        rows = (await self._conn.execute(query)).all()
        return tuple(Recipient(r.id, r.name, RecipientKind(r.kind), r.sms) for r in rows)

    async def get_alert(self, alert_id: str) -> Alert | None:
        query = sa.select(t.alerts.c.body).where(t.alerts.c.id == alert_id)
        if not self._is_sqlite:
            query = query.with_for_update()
        body = (await self._conn.execute(query)).scalar_one_or_none()
        return codec.alert_from_dict(body) if body is not None else None

    async def insert_alert(self, alert: Alert) -> None:
        await self._conn.execute(sa.insert(t.alerts).values(**_alert_columns(alert)))

    async def update_alert(self, alert: Alert) -> None:
        columns = _alert_columns(alert)
        await self._conn.execute(
            sa.update(t.alerts).where(t.alerts.c.id == alert.id).values(**columns)
        )

    async def append_events(self, events: Sequence[AlertEvent]) -> list[LoggedEvent]:
        if not events:
            return []
        bump = (
            sa.update(t.log_head)
            .where(t.log_head.c.id == 1)
            .values(last_event_id=t.log_head.c.last_event_id + len(events))
            .returning(t.log_head.c.last_event_id)
        )
        last = (await self._conn.execute(bump)).scalar_one()
        first = last - len(events) + 1
        logged = [LoggedEvent(first + i, e) for i, e in enumerate(events)]
        await self._conn.execute(
            sa.insert(t.events),
            [
                {
                    "id": item.id,
                    "alert_id": item.event.alert_id,
                    "school_id": item.event.school_id,
                    "type": item.event.type.value,
                    "drill": item.event.drill,
                    "at": _utc(item.event.at),
                    "body": codec.event_body(item.event),
                }
                for item in logged
            ],
        )
        return logged

    async def enqueue_effects(self, effects: Sequence[Effect]) -> None:
        if not effects:
            return
        now = datetime.now(UTC)  # due at once; the relay compares with its clock
        await self._conn.execute(
            sa.insert(t.outbox),
            [
                {
                    "alert_id": e.alert_id,
                    "effect": type(e).__name__,
                    "body": _effect_body(e),
                    "state": "pending",
                    "attempts": 0,
                    "due_at": now,
                }
                for e in effects
            ],
        )

    async def save_site(self, site: Site) -> None:
        conn = self._conn
        await conn.execute(
            self._insert(t.districts)
            .values(id=site.district.id, name=site.district.name)
            .on_conflict_do_update(index_elements=["id"], set_={"name": site.district.name})
        )
        for school in site.schools:
            doc = codec.school_to_dict(school)
            values = {"name": school.name, "district_id": site.district.id, "doc": doc}
            await conn.execute(
                self._insert(t.schools)
                .values(id=school.id, **values)
                .on_conflict_do_update(index_elements=["id"], set_=values)
            )
            for table in (t.rooms, t.recipients):
                await conn.execute(sa.delete(table).where(table.c.school_id == school.id))
            room_rows = [
                {
                    "id": room.id,
                    "school_id": school.id,
                    "floor_id": floor.id,
                    "label": place_label(school, room.id) or room.name,
                }
                for _building, floor, room in school.places()
            ]
            if room_rows:
                await conn.execute(sa.insert(t.rooms), room_rows)
            people = [
                {
                    "school_id": school.id,
                    "id": r.id,
                    "name": r.name,
                    "kind": r.kind.value,
                    "sms": r.sms,
                }
                for r in recipients_of(school, site.agencies)
            ]
            if people:
                await conn.execute(sa.insert(t.recipients), people)


def _alert_columns(alert: Alert) -> dict[str, Any]:
    return {
        "id": alert.id,
        "school_id": alert.school_id,
        "room_id": alert.room_id,
        "kind": alert.kind.value,
        "state": alert.state.value,
        "drill": alert.drill,
        "raised_at": _utc(alert.raised_at),
        "updated_at": _utc(alert.updated_at),
        "version": alert.version,
        "body": codec.alert_to_dict(alert),
    }


class SqlStore:
    """Implements `alertd.app.ports.Store`."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqlTransaction]:
        async with self._db.write() as conn:
            yield SqlTransaction(conn, is_sqlite=self._db.is_sqlite)

    async def _all(self, query: sa.Executable) -> list[Any]:
        async with self._db.read() as conn:
            return list((await conn.execute(query)).all())

    async def get_alert(self, alert_id: str) -> Alert | None:
        rows = await self._all(sa.select(t.alerts.c.body).where(t.alerts.c.id == alert_id))
        return codec.alert_from_dict(rows[0].body) if rows else None

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
            select = select.where(c.raised_at >= _utc(query.raised_after))
        if query.raised_before is not None:
            select = select.where(c.raised_at < _utc(query.raised_before))
        return [codec.alert_from_dict(r.body) for r in await self._all(select)]

    async def timeline(self, alert_id: str) -> list[LoggedEvent]:
        c = t.events.c
        rows = await self._all(sa.select(c.id, c.body).where(c.alert_id == alert_id).order_by(c.id))
        return [codec.logged_from_body(r.id, r.body) for r in rows]

    async def read_log(self, query: LogQuery) -> list[LoggedEvent]:
        c = t.events.c
        select = sa.select(c.id, c.body).where(c.id > query.after).order_by(c.id).limit(query.limit)
        if query.school_ids is not None:
            select = select.where(c.school_id.in_(sorted(query.school_ids)))
        return [codec.logged_from_body(r.id, r.body) for r in await self._all(select)]

    async def last_event_id(self) -> int:
        rows = await self._all(sa.select(t.log_head.c.last_event_id).where(t.log_head.c.id == 1))
        return int(rows[0].last_event_id)

    async def schools(self) -> list[SchoolRef]:
        rows = await self._all(sa.select(t.schools.c.id, t.schools.c.name).order_by(t.schools.c.id))
        return [SchoolRef(r.id, r.name) for r in rows]

    async def school(self, school_id: str) -> School | None:
        rows = await self._all(
            sa.select(t.schools.c.doc, t.schools.c.district_id).where(t.schools.c.id == school_id)
        )
        if not rows:
            return None
        return codec.school_from_dict(rows[0].doc, district_id=rows[0].district_id)

    async def due_effects(self, *, now: datetime, limit: int) -> list[OutboxItem]:
        c = t.outbox.c
        now = _utc(now)
        due = (
            sa.select(c.id)
            .where(c.state == "pending", c.due_at <= now)
            .where(sa.or_(c.lease_until.is_(None), c.lease_until < now))
            .order_by(c.id)
            .limit(limit)
        )
        if not self._db.is_sqlite:
            due = due.with_for_update(skip_locked=True)
        lease = datetime.fromtimestamp(now.timestamp() + LEASE_SECONDS, UTC)
        claim = (
            sa.update(t.outbox)
            .where(c.id.in_(due.scalar_subquery()))
            .values(lease_until=lease)
            .returning(c.id, c.body, c.attempts)
        )
        async with self._db.write() as conn:
            rows = (await conn.execute(claim)).all()
        return [
            OutboxItem(r.id, SendSms(**r.body), r.attempts)
            for r in sorted(rows, key=lambda r: r.id)
        ]

    async def _set_outbox(self, item_id: int, **values: Any) -> None:
        async with self._db.write() as conn:
            await conn.execute(sa.update(t.outbox).where(t.outbox.c.id == item_id).values(**values))

    async def complete_effect(self, item_id: int, *, now: datetime) -> None:
        await self._set_outbox(item_id, state="done", done_at=_utc(now), lease_until=None)

    async def retry_effect(self, item_id: int, *, at: datetime, error: str) -> None:
        await self._set_outbox(
            item_id,
            due_at=_utc(at),
            lease_until=None,
            last_error=error[:500],
            attempts=t.outbox.c.attempts + 1,
        )

    async def fail_effect(self, item_id: int, *, now: datetime, error: str) -> None:
        await self._set_outbox(
            item_id,
            state="failed",
            done_at=_utc(now),
            lease_until=None,
            last_error=error[:500],
            attempts=t.outbox.c.attempts + 1,
        )

    async def ping(self) -> None:
        await self._all(sa.select(sa.literal(1)))
