"""Drill compliance: `ComplianceService.compliance` counts a school's drills of a term
against the requirement of the district's state (`alertd.core.compliance`)."""

from __future__ import annotations

from collections.abc import Mapping

from alertd.app.audience import school_zone
from alertd.app.drill_ports import DrillStore, PlanFilter
from alertd.app.ports import AlertFilter, Clock, Store
from alertd.app.service import require
from alertd.core.compliance import Compliance, StateRule, assess, parse_term, term_of
from alertd.core.drill import DrillState
from alertd.core.errors import ValidationFailed
from alertd.core.permission import Action, Principal, Verdict, authorize

# More drill alerts than a school runs in a term, many times over.
MAX_DRILLS_PER_TERM = 5000


class ComplianceService:
    """Reads only. `rules` by state code; `state` is the one that applies (settings)."""

    def __init__(
        self,
        *,
        store: Store,
        drills: DrillStore,
        rules: Mapping[str, StateRule],
        state: str,
        clock: Clock,
    ) -> None:
        if state.upper() not in rules:
            raise ValueError(f"no drill requirements for state {state!r} (have {sorted(rules)})")
        self._store = store
        self._drills = drills
        self._rule = rules[state.upper()]
        self._clock = clock

    @property
    def rule(self) -> StateRule:
        return self._rule

    async def compliance(
        self, *, school_id: str, term: str | None, principal: Principal
    ) -> Compliance:
        """The school's drills of `term` ("2026-fall"; None: the term of today) against the
        requirement. ValidationFailed names school_id or term; Forbidden for roles that may
        not read drills."""
        verdict = authorize(principal, Action.VIEW_DRILLS, school_id=school_id)
        if verdict is Verdict.HIDDEN:
            raise ValidationFailed("school_id", f"unknown school {school_id!r}")
        require(verdict, what="school", ident=school_id, action=Action.VIEW_DRILLS)
        school = await self._store.school(school_id)
        if school is None:
            raise ValidationFailed("school_id", f"unknown school {school_id!r}")
        tz = school_zone(school.timezone)
        if term is not None:
            chosen = parse_term(term, self._rule)
        else:
            today = self._clock.now().astimezone(tz).date()
            found = term_of(today, self._rule)
            if found is None:
                raise ValidationFailed("term", f"{today} is between terms: name the term")
            chosen = found
        start, after = chosen.bounds(tz)
        alerts = await self._store.list_alerts(
            AlertFilter(
                school_ids=frozenset({school_id}),
                drill=True,
                raised_after=start,
                raised_before=after,
                limit=MAX_DRILLS_PER_TERM,
            )
        )
        scheduled = await self._drills.drill_plans(
            PlanFilter(
                school_ids=frozenset({school_id}),
                scheduled_after=start,
                scheduled_before=after,
                states=frozenset({DrillState.SCHEDULED}),
            )
        )
        linked = frozenset(a.drill_link.plan_id for a in alerts if a.drill_link is not None)
        ran = await self._drills.drill_plans(PlanFilter(ids=linked)) if linked else []
        plans = [*scheduled, *ran]
        return assess(
            school_id=school_id, rule=self._rule, term=chosen, tz=tz, alerts=alerts, plans=plans
        )
