"""Ports of the drill use cases (`alertd.app.drills`). Adapter: `adapters/db/drills.py`.

A drill's start raises its alert, and its end closes it: the plan and the alert change in
one transaction, so the drill transaction is the alert `Transaction` with the plan's rows.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from alertd.app.ports import Transaction
from alertd.core.drill import DrillPlan, DrillState


@dataclass(frozen=True, slots=True)
class PlanFilter:
    """Plans of these schools (None: all), scheduled in [after, before), in these states,
    with these ids (each None: any)."""

    school_ids: frozenset[str] | None = None
    scheduled_after: datetime | None = None
    scheduled_before: datetime | None = None
    states: frozenset[DrillState] | None = None
    ids: frozenset[str] | None = None
    limit: int = 500


class DrillTransaction(Transaction, Protocol):
    async def get_drill_plan(self, plan_id: str) -> DrillPlan | None:
        """The plan, locked against concurrent commands until commit; None if unknown."""

    async def save_drill_plan(self, plan: DrillPlan, *, new: bool) -> None:
        """Insert (`new`) or update the plan."""


class DrillStore(Protocol):
    def transaction(self) -> AbstractAsyncContextManager[DrillTransaction]:
        """One transaction for a drill command and whatever it does to the drill's alert."""

    async def drill_plan(self, plan_id: str) -> DrillPlan | None: ...

    async def drill_plans(self, query: PlanFilter) -> list[DrillPlan]:
        """Matching plans, soonest scheduled first, up to `query.limit`."""
