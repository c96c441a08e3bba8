"""Drill compliance: the drills a school ran per kind and term, against a state's requirement.

Requirements are data (`StateRule`), loaded from a configurable file (the packaged examples
are in `alertd/adapters/compliance/requirements.toml`): they are examples to adapt, not
legal advice. Pure: the app passes the school's drill alerts, its plans and its time zone.

A drill counts once it took place: its plan ended with the drill held (`DrillPlan.held`),
or, for a drill alert raised without a plan (or whose plan still runs), once the alert ended
with an all clear or was resolved. A drill called off (cancelled) does not count, nor one
still running. A requirement names a kind and, for shelter drills, may name
a hazard (a tornado drill is a shelter drill for a tornado).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from alertd.core.alert import Alert, AlertState
from alertd.core.drill import DrillPlan, DrillState
from alertd.core.errors import ValidationFailed
from alertd.core.kind import AlertKind, Hazard

_COMPLETED = frozenset({AlertState.ALL_CLEAR, AlertState.RESOLVED})
_TERM_ID = re.compile(r"^(\d{4})-([a-z][a-z0-9_]{0,31})$")


@dataclass(frozen=True, slots=True)
class TermSpec:
    """A term of the school year, from `start` to `end` inclusive, as (month, day). A term
    whose end comes before its start in the calendar ends in the next year."""

    name: str
    start: tuple[int, int]
    end: tuple[int, int]


@dataclass(frozen=True, slots=True)
class Requirement:
    kind: AlertKind
    count: int  # at least this many drills per term
    label: str  # "Lockdown drills"
    hazard: Hazard | None = None

    def matches(self, kind: AlertKind, hazard: Hazard | None) -> bool:
        return kind is self.kind and (self.hazard is None or hazard is self.hazard)


@dataclass(frozen=True, slots=True)
class StateRule:
    code: str  # "NY"
    name: str  # "New York"
    terms: tuple[TermSpec, ...]
    requirements: tuple[Requirement, ...]
    source: str = ""  # where the example was drawn from; verify before relying on it
    note: str = ""


@dataclass(frozen=True, slots=True)
class Term:
    id: str  # "2026-fall": the year the term starts in, and its name
    name: str
    first_day: date
    last_day: date

    def bounds(self, tz: tzinfo) -> tuple[datetime, datetime]:
        """[start, end) as moments in the school's time zone."""
        start = datetime.combine(self.first_day, datetime.min.time(), tzinfo=tz)
        after = datetime.combine(self.last_day + timedelta(days=1), datetime.min.time(), tzinfo=tz)
        return start, after

    def contains(self, day: date) -> bool:
        return self.first_day <= day <= self.last_day


def term_in(spec: TermSpec, year: int) -> Term:
    first = date(year, *spec.start)
    last = date(year, *spec.end)
    if last < first:
        last = date(year + 1, *spec.end)
    return Term(f"{year}-{spec.name}", spec.name, first, last)


def parse_term(term_id: str, rule: StateRule) -> Term:
    """ "2026-fall" as a term of `rule`; ValidationFailed("term") when it is not one."""
    match = _TERM_ID.fullmatch(term_id.strip())
    names = ", ".join(s.name for s in rule.terms)
    if match is None:
        raise ValidationFailed("term", f"term must look like 2026-{rule.terms[0].name}")
    year, name = int(match.group(1)), match.group(2)
    spec = next((s for s in rule.terms if s.name == name), None)
    if spec is None:
        raise ValidationFailed("term", f"{rule.name} has the terms {names}, not {name!r}")
    if not 1900 <= year <= 2999:
        raise ValidationFailed("term", "term year out of range")
    return term_in(spec, year)


def term_of(day: date, rule: StateRule) -> Term | None:
    """The term of `rule` that `day` falls in (None: between terms, say in summer)."""
    for year in (day.year, day.year - 1):
        for spec in rule.terms:
            term = term_in(spec, year)
            if term.contains(day):
                return term
    return None


@dataclass(frozen=True, slots=True)
class DrillRecord:
    """One drill of the term: the alert it raised, and whether it counts."""

    alert_id: str
    kind: AlertKind
    hazard: Hazard | None
    raised_at: datetime
    state: AlertState
    counted: bool


@dataclass(frozen=True, slots=True)
class ComplianceRow:
    requirement: Requirement
    done: int  # completed drills that match
    planned: int  # scheduled, not yet started, within the term

    @property
    def met(self) -> bool:
        return self.done >= self.requirement.count

    @property
    def short(self) -> int:
        return max(self.requirement.count - self.done, 0)


@dataclass(frozen=True, slots=True)
class Compliance:
    school_id: str
    rule: StateRule
    term: Term
    rows: tuple[ComplianceRow, ...]
    drills: tuple[DrillRecord, ...]  # every drill alert of the term, counted or not

    @property
    def met(self) -> bool:
        return all(row.met for row in self.rows)


def assess(
    *,
    school_id: str,
    rule: StateRule,
    term: Term,
    tz: tzinfo,
    alerts: Iterable[Alert],
    plans: Sequence[DrillPlan],
) -> Compliance:
    """Count the school's drills of the term against the rule. `alerts` may hold anything:
    only this school's drill alerts raised within the term are looked at. `plans`: those
    the alerts were raised from, and those scheduled within the term."""
    start, after = term.bounds(tz)
    by_id = {p.id: p for p in plans}

    def took_place(alert: Alert) -> bool:
        plan = by_id.get(alert.drill_link.plan_id) if alert.drill_link else None
        if plan is not None and plan.state is DrillState.ENDED:
            return bool(plan.held)
        return alert.state in _COMPLETED

    records = tuple(
        sorted(
            (
                DrillRecord(
                    alert_id=a.id,
                    kind=a.kind,
                    hazard=a.hazard,
                    raised_at=a.raised_at,
                    state=a.state,
                    counted=took_place(a),
                )
                for a in alerts
                if a.drill and a.school_id == school_id and start <= a.raised_at < after
            ),
            key=lambda r: r.raised_at,
        )
    )
    waiting = [
        p
        for p in plans
        if p.school_id == school_id
        and p.state is DrillState.SCHEDULED
        and start <= p.scheduled_for < after
    ]
    rows = tuple(
        ComplianceRow(
            requirement=req,
            done=sum(1 for r in records if r.counted and req.matches(r.kind, r.hazard)),
            planned=sum(1 for p in waiting if req.matches(p.kind, p.hazard)),
        )
        for req in rule.requirements
    )
    return Compliance(school_id, rule, term, rows, records)
