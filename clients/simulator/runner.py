"""Carry a plan out against a running alertd, and say what happened (`Outcome`).

Order of work: set up the cast (`cast.assemble`), plan with the seed (`plan.make_plan`),
open the performers and the console's stream, then walk the timeline: each action starts at
its moment (`pace`), with an Idempotency-Key of its own that every retry repeats. After the
last action the console is given `settle_seconds` to see every room's report; then the
after-action report of each alert is read, and the buttons registered for the run are
disabled again.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

from clients.python.request import AlertdError, Call, Unreachable, action_call
from clients.simulator.cast import assemble
from clients.simulator.contract import (
    drill_end_call,
    drill_plan_call,
    drill_start_call,
    note_version,
    report_call,
    roll_call,
)
from clients.simulator.pace import Pace
from clients.simulator.performer import Performers, PressRefused, performers, raise_body, raise_call
from clients.simulator.plan import Action, Plan, make_plan
from clients.simulator.scenario import (
    AcknowledgeStep,
    AllClearStep,
    CancelStep,
    EndDrillStep,
    NoteStep,
    RaiseStep,
    ResolveStep,
    RollStep,
    Scenario,
    StatusStep,
)
from clients.simulator.watch import Watcher


@dataclass(frozen=True, slots=True)
class Failure:
    """An action that was refused or never answered."""

    step: str  # e.g. "t=25s timeline[3] status by sro"; a roll's moment is its room's
    room: str | None
    reason: str

    def __str__(self) -> str:
        room = f" ({self.room})" if self.room else ""
        return f"{self.step}{room}: {self.reason}"


class NotRaised(Exception):
    """The alert an action is about was never raised (its raise failed)."""


@dataclass
class Outcome:
    """What the run did and saw. `ok`: every action answered as planned, nothing lost."""

    scenario: Scenario
    plan: Plan
    run_id: str
    time_scale: float = 1.0  # server seconds per scenario second (1 / --speed)
    alert_ids: dict[str, str] = field(default_factory=dict)
    drill_plans: dict[str, str] = field(default_factory=dict)  # alert name -> its plan's id
    done: int = 0
    failures: list[Failure] = field(default_factory=list)
    reports_sent: dict[str, float] = field(default_factory=dict)  # room -> perf_counter
    reports_answered: dict[str, float] = field(default_factory=dict)  # room -> 201 received
    reports_seen: dict[str, float] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)  # alert id -> last answered version
    events: Counter[str] = field(default_factory=Counter)
    after_action: dict[str, dict[str, Any] | None] = field(default_factory=dict)

    def latencies_ms(self) -> list[float]:
        """Report sent -> seen on the console, per room seen, in ms, sorted."""
        return sorted(
            (self.reports_seen[room] - sent) * 1000
            for room, sent in self.reports_sent.items()
            if room in self.reports_seen
        )

    def answer_times_ms(self) -> list[float]:
        """Report sent -> alertd's answer (201), in ms, sorted."""
        return sorted(
            (self.reports_answered[room] - sent) * 1000 for room, sent in self.reports_sent.items()
        )

    def answered(self, answer: Any) -> None:
        """Note the alert version an action's answer showed, for the console to catch up to."""
        note_version(self.versions, answer)

    def lost(self) -> list[str]:
        """Rooms whose report alertd accepted but the console never saw."""
        return sorted(set(self.reports_sent) - set(self.reports_seen))

    @property
    def ok(self) -> bool:
        return not self.failures and not self.lost()


Progress = Callable[[Outcome, float], None]  # (outcome so far, scenario seconds elapsed)


async def simulate(
    scenario: Scenario,
    url: str,
    *,
    pace: Pace,
    progress: Progress | None = None,
    settle_seconds: float = 10.0,
    run_id: str | None = None,
) -> Outcome:
    """Run `scenario` against alertd at `url`. SetupFailed if the set-up was refused;
    refusals during the timeline are recorded in `Outcome.failures`, not raised."""
    cast = await assemble(scenario, url, run_id=run_id)
    try:
        plan = make_plan(scenario, cast.rooms)
        outcome = Outcome(scenario, plan, cast.run_id, time_scale=pace.scale)
        async with performers(url, scenario, cast) as cast_of:
            watcher = Watcher(cast_of.person(scenario.console))
            await watcher.start()
            try:
                await _walk(plan, cast_of, watcher, outcome, pace, progress)
                await watcher.until_seen(
                    set(outcome.reports_sent), outcome.versions, seconds=settle_seconds
                )
            finally:
                await watcher.stop()
            outcome.reports_seen = dict(watcher.rooms_seen)
            outcome.events = Counter(watcher.events)
            if progress is not None:
                progress(outcome, pace.elapsed())
            console = cast_of.person(scenario.console)
            for name, alert_id in outcome.alert_ids.items():
                outcome.after_action[name] = await _after_action(console, alert_id)
        return outcome
    finally:
        await cast.dismiss(url, scenario)


async def _walk(
    plan: Plan,
    cast_of: Performers,
    watcher: Watcher,
    outcome: Outcome,
    pace: Pace,
    progress: Progress | None,
) -> None:
    alerts: dict[str, asyncio.Future[str]] = {}
    loop = asyncio.get_running_loop()
    for action in plan.actions:
        alert = getattr(action.step, "alert", None)
        if isinstance(action.step, RaiseStep) and alert is not None:
            alerts[alert] = loop.create_future()
    running: set[asyncio.Task[None]] = set()
    ticker = asyncio.create_task(_tick(outcome, watcher, pace, progress))
    pace.start()
    try:
        for at, moment in groupby(plan.actions, key=lambda a: a.at):
            await pace.until(at)
            tasks = [
                asyncio.create_task(_perform(a, cast_of, watcher, outcome, alerts, pace))
                for a in moment
            ]
            if pace.concurrent:
                running.update(tasks)
                for task in tasks:
                    task.add_done_callback(running.discard)
            else:
                await asyncio.gather(*tasks)
        await asyncio.gather(*running)
    finally:
        ticker.cancel()
        for future in alerts.values():
            future.cancel()


async def _tick(outcome: Outcome, watcher: Watcher, pace: Pace, progress: Progress | None) -> None:
    if progress is None:
        return
    while True:
        outcome.reports_seen = dict(watcher.rooms_seen)
        progress(outcome, pace.elapsed())
        await asyncio.sleep(0.1)


async def _perform(
    action: Action,
    cast_of: Performers,
    watcher: Watcher,
    outcome: Outcome,
    alerts: dict[str, asyncio.Future[str]],
    pace: Pace,
) -> None:
    step = action.step
    label = f"t={action.at:g}s timeline[{action.step_index}] {step.do} by {step.by}"
    room = action.report.room_id if action.report is not None else None
    key = f"alertd-simulate-{outcome.run_id}-{action.step_index}"
    try:
        if isinstance(step, RaiseStep):
            try:
                alert_id = await _raise(step, cast_of, watcher, pace, key, outcome)
            except BaseException:
                # What depends on this alert fails at once rather than waiting for it.
                alerts[step.alert].set_exception(NotRaised(f"alert {step.alert!r} not raised"))
                raise
            outcome.alert_ids[step.alert] = alert_id
            alerts[step.alert].set_result(alert_id)
        else:
            alert_id = await asyncio.wait_for(asyncio.shield(alerts[step.alert]), 60)
            await _act(action, alert_id, cast_of, outcome, key)
        outcome.done += 1
    except AlertdError as error:
        field_name = f" (field {error.field})" if error.field else ""
        reason = f"refused {error.status} {error.message}{field_name}"
        outcome.failures.append(Failure(label, room, reason))
    except (Unreachable, PressRefused, NotRaised, TimeoutError, asyncio.CancelledError) as error:
        outcome.failures.append(Failure(label, room, f"{type(error).__name__} {error}"))


async def _raise(
    step: RaiseStep, cast_of: Performers, watcher: Watcher, pace: Pace, key: str, outcome: Outcome
) -> str:
    if step.by in cast_of.cast.devices:
        body = raise_body(cast_of.scenario, step)
        answer = await cast_of.press(step.by, body, pace.now())
        if answer is not None:
            return str(answer["id"])
        device = cast_of.cast.devices[step.by]
        return await watcher.alert_raised_by(f"device:{device.id}")
    person = cast_of.person(step.by)
    if step.drill_plan:
        body = raise_body(cast_of.scenario, step)
        for field_name in ("drill", "source"):
            body.pop(field_name, None)  # a plan's alert is a drill, raised by the plan
        plan = await person.call(drill_plan_call(body, scheduled_for=pace.now()))
        outcome.drill_plans[step.alert] = str(plan["id"])
        started = await person.call(drill_start_call(str(plan["id"])))
        return str(started["alert_id"])
    answer = await person.call(raise_call(cast_of.scenario, step, idempotency_key=key))
    outcome.answered(answer)
    return str(answer["id"])


async def _act(
    action: Action, alert_id: str, cast_of: Performers, outcome: Outcome, key: str
) -> None:
    step = action.step
    call: Call
    if isinstance(step, RollStep):
        assert action.report is not None and cast_of.teachers is not None
        room = action.report.room_id
        call = roll_call(alert_id, action.report, idempotency_key=f"{key}-{room}")
        sent = time.perf_counter()
        await cast_of.teachers.call(call)
        outcome.reports_answered[room] = time.perf_counter()
        outcome.reports_sent[room] = sent
        return
    if isinstance(step, AcknowledgeStep):
        call = action_call(alert_id, "acknowledge")
    elif isinstance(step, StatusStep):
        call = action_call(alert_id, "status", {"status": step.status})
    elif isinstance(step, NoteStep):
        call = action_call(alert_id, "notes", {"text": step.text})
    elif isinstance(step, AllClearStep):
        call = action_call(alert_id, "all-clear", {"note": step.note})
    elif isinstance(step, ResolveStep):
        call = action_call(alert_id, "resolve", {"note": step.note})
    elif isinstance(step, EndDrillStep):
        call = drill_end_call(outcome.drill_plans[step.alert])
    elif isinstance(step, CancelStep):
        call = action_call(alert_id, "cancel", {"reason": step.reason})
    else:  # pragma: no cover - the scenario's union is exhaustive
        raise AssertionError(step)
    outcome.answered(await cast_of.person(step.by).call(call))


async def _after_action(console: Any, alert_id: str) -> dict[str, Any] | None:
    """The alert's after-action report; None where this alertd has none (404/405)."""
    try:
        report: dict[str, Any] = await console.call(report_call(alert_id))
    except AlertdError as error:
        if error.status in (404, 405):
            return None
        raise
    return report
