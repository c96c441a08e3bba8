"""Drill compliance (core and the requirements file): terms, and counts for a seeded
history of drills."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from alertd.adapters.compliance.loader import (
    RequirementsError,
    load_requirements,
    parse_requirements,
)
from alertd.core.actor import Actor
from alertd.core.alert import Alert, AlertState
from alertd.core.compliance import assess, parse_term, term_of
from alertd.core.drill import DrillPlan, DrillState
from alertd.core.drill_link import DrillAudience
from alertd.core.errors import ValidationFailed
from alertd.core.kind import AlertKind, Hazard, Severity

CHICAGO = ZoneInfo("America/Chicago")
RULES = load_requirements(None)
TX, NY = RULES["TX"], RULES["NY"]
COORDINATOR = Actor("coord-1", "Dana Drill", role="drill_coordinator")


def drill(
    kind: AlertKind,
    raised: datetime,
    state: AlertState = AlertState.ALL_CLEAR,
    *,
    hazard: Hazard | None = None,
    school: str = "lincoln-hs",
    is_drill: bool = True,
) -> Alert:
    return Alert(
        id=f"{kind}-{raised.isoformat()}-{school}-{state}",
        kind=kind,
        severity=Severity.SEVERE,
        school_id=school,
        room_id=None,
        state=state,
        drill=is_drill,
        raised_by=COORDINATOR,
        raised_at=raised,
        updated_at=raised,
        version=3,
        hazard=hazard,
    )


def plan(
    kind: AlertKind,
    when: datetime,
    state: DrillState = DrillState.SCHEDULED,
    hazard: Hazard | None = None,
) -> DrillPlan:
    return DrillPlan(
        hazard=hazard,
        id=f"plan-{kind}-{when.isoformat()}",
        school_id="lincoln-hs",
        kind=kind,
        scheduled_for=when,
        audience=DrillAudience.SCHOOL,
        test_contacts=(),
        state=state,
        created_by=COORDINATOR,
        created_at=when,
        updated_at=when,
    )


def local(y: int, m: int, d: int, h: int = 10) -> datetime:
    return datetime(y, m, d, h, tzinfo=CHICAGO)


def test_terms_are_named_by_their_first_year() -> None:
    fall = parse_term("2026-fall", TX)
    assert (fall.first_day, fall.last_day) == (date(2026, 8, 1), date(2026, 12, 31))
    year = parse_term("2026-year", NY)  # September to June
    assert (year.first_day, year.last_day) == (date(2026, 9, 1), date(2027, 6, 30))
    assert term_of(date(2027, 3, 3), NY) == year
    assert term_of(date(2027, 7, 15), NY) is None  # summer
    assert term_of(date(2027, 3, 3), TX) == parse_term("2027-spring", TX)


@pytest.mark.parametrize("term", ["fall", "2026", "2026-winter", "26-fall", "2026-Fall!"])
def test_a_term_that_is_not_one_names_the_field(term: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_term(term, TX)
    assert caught.value.field == "term"


def test_counts_for_a_seeded_history() -> None:
    history = [
        drill(AlertKind.LOCKDOWN, local(2026, 8, 20)),
        drill(AlertKind.LOCKDOWN, local(2026, 10, 1), AlertState.CANCELLED),  # not counted
        drill(AlertKind.EVACUATE, local(2026, 9, 2), AlertState.ALL_CLEAR),
        drill(AlertKind.EVACUATE, local(2026, 11, 5)),
        drill(AlertKind.EVACUATE, local(2026, 12, 1), AlertState.RAISED),  # still running
        drill(AlertKind.SHELTER, local(2026, 9, 9), hazard=Hazard.TORNADO),  # not "severe weather"
        drill(AlertKind.EVACUATE, local(2026, 7, 31, 23)),  # the day before the term
        drill(AlertKind.EVACUATE, local(2027, 1, 1, 0)),  # the spring term, at midnight
        drill(AlertKind.EVACUATE, local(2026, 10, 10), school="jefferson-es"),  # elsewhere
        drill(AlertKind.SECURE, local(2026, 10, 10), is_drill=False),  # a real alert
        # Midnight at the end of the term in Chicago is still December 31st there.
        drill(AlertKind.SECURE, datetime(2027, 1, 1, 5, 30, tzinfo=UTC)),
    ]
    plans = [
        plan(AlertKind.SHELTER, local(2026, 12, 3), hazard=Hazard.SEVERE_WEATHER),
        plan(AlertKind.SHELTER, local(2026, 12, 3), hazard=Hazard.TORNADO),
        plan(AlertKind.LOCKDOWN, local(2026, 12, 4)),
        plan(AlertKind.LOCKDOWN, local(2026, 12, 5), DrillState.ENDED),  # counted as an alert
        plan(AlertKind.LOCKDOWN, local(2027, 2, 5)),  # spring
    ]
    result = assess(
        school_id="lincoln-hs",
        rule=TX,
        term=parse_term("2026-fall", TX),
        tz=CHICAGO,
        alerts=history,
        plans=plans,
    )
    rows = {row.requirement.label: (row.done, row.planned, row.met) for row in result.rows}
    assert rows == {
        "Lockdown drill": (1, 1, True),
        "Fire evacuation drills": (2, 0, True),
        "Severe weather drill": (0, 1, False),
        "Secure drill": (1, 0, True),
    }
    assert not result.met
    assert len(result.drills) == 7 and sum(d.counted for d in result.drills) == 5


def test_the_packaged_examples_load_and_say_they_are_examples() -> None:
    text = (
        __import__("importlib.resources", fromlist=["files"])
        .files("alertd.adapters.compliance")
        .joinpath("requirements.toml")
        .read_text()
    )
    assert "NOT LEGAL ADVICE" in text
    assert {"NY", "IL", "TX"} <= set(RULES)
    assert all(rule.source.startswith("Example") for rule in RULES.values())


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("x = 1", "states"),
        ('[states.ZZ]\nterms = [{name="y", start="13-01", end="01-01"}]\nrequirements=[]', "ZZ"),
        (
            '[states.ZZ]\nterms = [{name="y", start="01-01", end="12-31"}]\n'
            'requirements=[{kind="party", count=1, label="x"}]',
            "ZZ",
        ),
    ],
)
def test_a_bad_requirements_file_names_the_entry(text: str, where: str) -> None:
    with pytest.raises(RequirementsError, match=where):
        parse_requirements(text)


def test_term_bounds_are_in_the_schools_time_zone() -> None:
    start, after = parse_term("2026-fall", TX).bounds(CHICAGO)
    assert start == local(2026, 8, 1, 0)
    # Daylight saving ends in November: the term is an hour longer than its days.
    assert after.astimezone(UTC) - start.astimezone(UTC) == timedelta(days=153, hours=1)
    assert replace(parse_term("2026-fall", TX), name="x").id == "2026-fall"


def test_a_term_day_that_is_not_in_every_year_is_refused() -> None:
    text = '[states.ZZ]\nterms = [{name="y", start="02-29", end="12-31"}]\nrequirements=[]'
    with pytest.raises(RequirementsError, match="02-29"):
        parse_requirements(text)
