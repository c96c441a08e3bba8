"""Drill plans on SQLAlchemy Core: implements `alertd.app.drill_ports`.

The drill transaction is the alert transaction (`SqlTransaction`) with the plan's rows, so
a drill's start or end writes the plan and the drill alert in one commit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from alertd.adapters import codec
from alertd.adapters.db import schema as t
from alertd.adapters.db.engine import Database
from alertd.adapters.db.store import SqlTransaction
from alertd.app.drill_ports import PlanFilter
from alertd.core.drill import DrillPlan

_c = t.drill_plans.c
_SELECT_PLAN = sa.select(_c.body).where(_c.id == sa.bindparam("plan_id"))
_INSERT_PLAN = sa.insert(t.drill_plans)
_UPDATE_PLAN = sa.update(t.drill_plans).where(_c.id == sa.bindparam("plan_id"))


def _columns(plan: DrillPlan) -> dict[str, Any]:
    return {
        "school_id": plan.school_id,
        "kind": plan.kind.value,
        "state": plan.state.value,
        "scheduled_for": codec.utc(plan.scheduled_for),
        "alert_id": plan.alert_id,
        "updated_at": codec.utc(plan.updated_at),
        "body": codec.drill_plan_to_dict(plan),
    }


def _plan(conn: Connection, plan_id: str, *, lock: bool) -> DrillPlan | None:
    query = _SELECT_PLAN.with_for_update() if lock else _SELECT_PLAN
    body = conn.execute(query, {"plan_id": plan_id}).scalar_one_or_none()
    return codec.drill_plan_from_dict(body) if body is not None else None


class SqlDrillTransaction(SqlTransaction):
    """Implements `alertd.app.drill_ports.DrillTransaction`."""

    async def get_drill_plan(self, plan_id: str) -> DrillPlan | None:
        lock = not self._is_sqlite  # SQLite's single writer already excludes everyone else
        return await self._session.run(lambda conn: _plan(conn, plan_id, lock=lock))

    async def save_drill_plan(self, plan: DrillPlan, *, new: bool) -> None:
        def step(conn: Connection) -> None:
            if new:
                conn.execute(_INSERT_PLAN, {"id": plan.id, **_columns(plan)})
            else:
                conn.execute(_UPDATE_PLAN, {"plan_id": plan.id, **_columns(plan)})

        await self._session.run(step)


class SqlDrillStore:
    """Implements `alertd.app.drill_ports.DrillStore`."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqlDrillTransaction]:
        async with self._db.write() as session:
            yield SqlDrillTransaction(session, is_sqlite=self._db.is_sqlite)

    async def drill_plan(self, plan_id: str) -> DrillPlan | None:
        return await self._db.read(lambda conn: _plan(conn, plan_id, lock=False))

    async def drill_plans(self, query: PlanFilter) -> list[DrillPlan]:
        select = sa.select(_c.body).order_by(_c.scheduled_for, _c.id).limit(query.limit)
        if query.school_ids is not None:
            select = select.where(_c.school_id.in_(sorted(query.school_ids)))
        if query.scheduled_after is not None:
            select = select.where(_c.scheduled_for >= codec.utc(query.scheduled_after))
        if query.scheduled_before is not None:
            select = select.where(_c.scheduled_for < codec.utc(query.scheduled_before))
        if query.ids is not None:
            select = select.where(_c.id.in_(sorted(query.ids)))
        if query.states is not None:
            select = select.where(_c.state.in_(sorted(s.value for s in query.states)))
        return await self._db.read(
            lambda conn: [codec.drill_plan_from_dict(r.body) for r in conn.execute(select)]
        )
