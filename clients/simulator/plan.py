"""From a scenario to a timeline: every action with its time, drawn with the seed.

Pure: the same scenario, seed and rooms always give the same plan, which is also what the
after-action report must find (`Expected`). The runner only carries the plan out.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from clients.simulator.scenario import (
    ROLL_ROOM_TYPES,
    AcknowledgeStep,
    RaiseStep,
    RollStep,
    Rooms,
    Scenario,
    StatusStep,
    Step,
)


@dataclass(frozen=True, slots=True)
class RoomOnSite:
    id: str
    type: str


@dataclass(frozen=True, slots=True)
class RollReport:
    """One room's report, as its teacher sends it."""

    room_id: str
    status: str
    students_present: int
    missing: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Action:
    at: float  # seconds after the start
    step_index: int
    step: Step
    report: RollReport | None = None  # for a roll step: this room's report


@dataclass(frozen=True, slots=True)
class Expected:
    """What the after-action report of one alert must say, from the plan alone (seconds
    after the alert was raised; None where the scenario never gets there). A room is
    accounted for from its first report; `unreported_rooms` are those of the school a roll
    expects (`ROLL_ROOM_TYPES`) that never reported."""

    alert: str
    raised_at: float
    first_ack: float | None
    sro_on_scene: float | None
    all_rooms_accounted: float | None
    rooms_accounted: int  # of the rooms a roll expects, how many reported
    unreported_rooms: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Plan:
    rooms: tuple[str, ...]
    actions: tuple[Action, ...]  # in time order
    expected: tuple[Expected, ...]

    @property
    def duration(self) -> float:
        return self.actions[-1].at if self.actions else 0.0

    def roll_reports(self) -> int:
        return sum(action.report is not None for action in self.actions)


class RoomsUnavailable(ValueError):
    """The school has fewer rooms than the scenario asks for."""


def choose_rooms(rooms: Rooms, on_site: Sequence[RoomOnSite], rng: random.Random) -> list[str]:
    """The rooms that take part: `count` of those of the wanted types, drawn with `rng`,
    in the school's order."""
    types = rooms.types or ROLL_ROOM_TYPES
    wanted = [room for room in on_site if room.type in types]
    if rooms.count == "all":
        return [r.id for r in wanted]
    if rooms.count > len(wanted):
        raise RoomsUnavailable(
            f"the scenario asks for {rooms.count} rooms; the school has {len(wanted)} of "
            f"those types"
        )
    picked = set(rng.sample(range(len(wanted)), rooms.count))
    return [room.id for index, room in enumerate(wanted) if index in picked]


def make_plan(scenario: Scenario, on_site: Sequence[RoomOnSite]) -> Plan:
    """The whole timeline. RoomsUnavailable if the school is too small for the scenario."""
    rng = random.Random(scenario.seed)
    rooms = choose_rooms(scenario.rooms, on_site, rng) if scenario.rooms else []
    actions: list[Action] = []
    for index, step in enumerate(scenario.timeline):
        if isinstance(step, RollStep):
            actions.extend(_roll_actions(index, step, rooms, rng))
        else:
            actions.append(Action(_when(step.at, step.until, rng), index, step))
    actions.sort(key=lambda a: (a.at, a.step_index))
    accountable = [room.id for room in on_site if room.type in ROLL_ROOM_TYPES]
    return Plan(tuple(rooms), tuple(actions), _expected(scenario, actions, accountable))


def _when(at: float, until: float | None, rng: random.Random) -> float:
    return at if until is None else round(rng.uniform(at, until), 3)


def _roll_actions(
    index: int, step: RollStep, rooms: Sequence[str], rng: random.Random
) -> list[Action]:
    reporting = list(rooms)
    rng.shuffle(reporting)
    reporting = reporting[: max(0, len(reporting) - step.skip)]
    other = "needs_help" if step.status == "secured" else "secured"
    differ = set(reporting[: step.needs_help])
    missing = set(reporting[step.needs_help : step.needs_help + step.missing])
    low, high = step.students
    actions = []
    for room in sorted(reporting, key=rooms.index):
        report = RollReport(
            room_id=room,
            status=other if room in differ else step.status,
            students_present=rng.randint(min(low, high), max(low, high)),
            missing=(f"student {rng.randint(1000, 9999)}",) if room in missing else (),
        )
        actions.append(Action(_when(step.at, step.until, rng), index, step, report))
    return actions


def _expected(
    scenario: Scenario, actions: Sequence[Action], accountable: Sequence[str]
) -> tuple[Expected, ...]:
    """Per alert raised: its figures, the rooms' counted from `accountable` (every room of
    the school a roll expects, whether or not the scenario has it report)."""
    roles = {name: person.role for name, person in scenario.people.items()}
    found = []
    for action in actions:
        step = action.step
        if not isinstance(step, RaiseStep):
            continue
        mine = [
            a for a in actions if getattr(a.step, "alert", None) == step.alert and a is not action
        ]
        acks = [a.at for a in mine if isinstance(a.step, AcknowledgeStep)]
        on_scene = [
            a.at
            for a in mine
            if isinstance(a.step, StatusStep)
            and a.step.status == "on_scene"
            and roles.get(a.step.by) == "sro"
        ]
        first_report: dict[str, float] = {}
        for a in mine:
            if a.report is not None:
                first_report.setdefault(a.report.room_id, a.at)  # `mine` is in time order
        unreported = tuple(room for room in accountable if room not in first_report)
        last_report = (
            max((first_report[room] for room in accountable), default=None)
            if not unreported
            else None
        )
        found.append(
            Expected(
                alert=step.alert,
                raised_at=action.at,
                first_ack=_since(min(acks, default=None), action.at),
                sro_on_scene=_since(min(on_scene, default=None), action.at),
                all_rooms_accounted=None if unreported else _since(last_report, action.at),
                rooms_accounted=sum(room in first_report for room in accountable),
                unreported_rooms=unreported,
            )
        )
    return tuple(found)


def _since(at: float | None, start: float) -> float | None:
    return None if at is None else round(at - start, 3)
