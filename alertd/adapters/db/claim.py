"""Work claimed across instances: instances heartbeat, and every claim names its instance.

A table of work takes part with three columns: `due_at`, `claimed_by` (an `instances.id`)
and `lease_until`. A row is claimable when it is due and either unclaimed, or its lease has
lapsed, or the instance that claimed it has stopped heartbeating for `Instance.timeout`
(killed, frozen, cut off). So the work of a dead instance is taken over within seconds,
and the lease stays only as a backstop for a live instance whose work is stuck.

`claim_rows` claims with FOR UPDATE SKIP LOCKED on PostgreSQL: two instances claiming at the
same moment take different rows, and neither waits for the other. The outbox uses it
(`outbox.claim_due`); timers (rows with a due time) are meant to be claimed the same way.
Claiming is at least once: an instance presumed dead that wakes up may still finish what it
had started, so the work must tolerate running twice (texts carry the alert id; the
delivery ledger records each attempt).

Clocks: heartbeats and claims use each instance's own clock; keep the instances' clocks in
step (NTP), well within the timeout.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from alertd.adapters import codec
from alertd.adapters.db import schema as t
from alertd.adapters.db.engine import Database
from alertd.app.ports import Clock

logger = logging.getLogger(__name__)

# Rows of instances silent for this long are deleted (they have long since lost their claims).
FORGET_AFTER = timedelta(hours=1)
_SWEEP_EVERY_ROUNDS = 60


@dataclass(frozen=True, slots=True)
class Instance:
    """This process, as other instances see it. `timeout`: silent this long, it is dead."""

    id: str
    name: str
    timeout: timedelta


def claim_statement(
    table: sa.Table,
    *,
    due: sa.ColumnElement[bool],
    returning: Sequence[sa.ColumnElement[Any]],
    order_by: Sequence[sa.ColumnElement[Any]] = (),
    also_set: Mapping[str, Any] | None = None,
) -> sa.Update:
    """The statement that claims rows of `table` matching `due`: build it once, at import,
    and run it with `claim_rows`. `due` may use the bind parameter `now`.

    A row is claimable when unclaimed, its lease lapsed, or claimed by an instance whose
    last heartbeat is before `alive_since`; in `order_by` order (default: oldest `due_at`
    first), at most `limit`, skipping rows another transaction is claiming (FOR UPDATE SKIP
    LOCKED; SQLite ignores it, its single writer excludes everyone else). `also_set`: more
    columns the claim sets (a claim counter, say).
    """
    c = table.c
    (key,) = table.primary_key.columns
    now: sa.BindParameter[Any] = sa.bindparam("now")
    live = sa.select(t.instances.c.id).where(
        t.instances.c.heartbeat_at >= sa.bindparam("alive_since")
    )
    candidates = (
        sa.select(key)
        .where(
            due,
            sa.or_(
                c.claimed_by.is_(None),
                c.lease_until.is_(None),
                c.lease_until < now,
                c.claimed_by.not_in(live.scalar_subquery()),
            ),
        )
        .order_by(*(order_by or (c.due_at, key)))
        .limit(sa.bindparam("limit", type_=sa.Integer))
        .with_for_update(skip_locked=True)
    )
    return (
        sa.update(table)
        .where(key.in_(candidates.scalar_subquery()))
        .values(
            claimed_by=sa.bindparam("instance"),
            lease_until=sa.bindparam("lease_until"),
            **(also_set or {}),
        )
        .returning(*returning)
    )


def claim_rows(
    conn: Connection,
    statement: sa.Update,
    *,
    instance: Instance,
    now: datetime,
    lease: timedelta,
    limit: int,
) -> list[Any]:
    """Run a `claim_statement`: claim up to `limit` rows for `instance` until now + `lease`.
    Returns the statement's `returning` columns of the rows claimed."""
    now = codec.utc(now)
    values = {
        "now": now,
        "alive_since": now - instance.timeout,
        "limit": limit,
        "instance": instance.id,
        "lease_until": now + lease,
    }
    return list(conn.execute(statement, values).all())


def release_rows(
    conn: Connection, table: sa.Table, *, unfinished: sa.ColumnElement[bool], instance: Instance
) -> int:
    """Give back this instance's unfinished claims (a clean shutdown); how many."""
    c = table.c
    release = (
        sa.update(table)
        .where(unfinished, c.claimed_by == instance.id)
        .values(claimed_by=None, lease_until=None)
    )
    return int(conn.execute(release).rowcount)


def sweep_unlocked(conn: Connection, table: sa.Table, where: sa.ColumnElement[bool]) -> int:
    """Delete the rows matching `where` that no other transaction holds (PostgreSQL: FOR
    UPDATE SKIP LOCKED), so that instances sweeping at once neither wait for nor deadlock
    on each other; a row skipped now goes in a later sweep. How many were deleted."""
    key = tuple(table.primary_key.columns)
    victims = sa.select(*key).where(where)
    if conn.dialect.name == "postgresql":
        victims = victims.with_for_update(skip_locked=True)
    delete = sa.delete(table).where(sa.tuple_(*key).in_(victims))
    return int(conn.execute(delete).rowcount)


def beat(conn: Connection, instance: Instance, now: datetime) -> None:
    """Record that `instance` is alive (registering it again if it had been forgotten)."""
    now = codec.utc(now)
    updated = conn.execute(
        sa.update(t.instances).where(t.instances.c.id == instance.id).values(heartbeat_at=now)
    ).rowcount
    if not updated:
        conn.execute(
            sa.insert(t.instances).values(
                id=instance.id, name=instance.name, started_at=now, heartbeat_at=now
            )
        )


def forget(conn: Connection, instance: Instance) -> None:
    conn.execute(sa.delete(t.instances).where(t.instances.c.id == instance.id))


def sweep(conn: Connection, now: datetime) -> int:
    """Delete instances silent for more than FORGET_AFTER; how many."""
    return sweep_unlocked(
        conn, t.instances, t.instances.c.heartbeat_at < codec.utc(now) - FORGET_AFTER
    )


class Heartbeat:
    """One round (`run_once`) per heartbeat: this instance is alive; now and then, forget
    instances long dead. Driven by a worker loop (`alertd.adapters.worker`)."""

    def __init__(self, db: Database, instance: Instance, clock: Clock) -> None:
        self._db = db
        self._instance = instance
        self._clock = clock
        self._rounds = 0

    async def run_once(self) -> bool:
        now = self._clock.now()
        sweeping = self._rounds % _SWEEP_EVERY_ROUNDS == 0
        self._rounds += 1

        def step(conn: Connection) -> None:
            beat(conn, self._instance, now)
            if sweeping and (gone := sweep(conn, now)):
                logger.info("forgot %s instances silent for over %s", gone, FORGET_AFTER)

        async with self._db.write() as session:
            await session.run(step)
        return False

    async def stop(self) -> None:
        """Leave: other instances need not wait for the timeout to take over."""
        async with self._db.write() as session:
            await session.run(lambda conn: forget(conn, self._instance))
