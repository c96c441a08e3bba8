"""What the simulator shows: a progress bar while it runs (rich), a summary at the end."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from clients.simulator.contract import report_figures
from clients.simulator.plan import Expected
from clients.simulator.runner import Outcome


class ProgressBar:
    """A live display of the timeline, the actions answered and the room reports the
    console saw (rich). Use as a context manager; pass it to `simulate` as `progress`."""

    def __init__(self, console: Console, *, enabled: bool) -> None:
        self._bar = Progress(
            TextColumn("{task.description:<26}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            disable=not enabled,
        )
        self._tasks: tuple[TaskID, TaskID, TaskID] | None = None
        self._duration = 1

    def __enter__(self) -> ProgressBar:
        self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.stop()

    def __call__(self, outcome: Outcome, elapsed: float) -> None:
        if self._tasks is None:  # the totals are known once the plan is made
            plan = outcome.plan
            self._duration = max(1, round(plan.duration))
            reports = plan.roll_reports()
            self._tasks = (
                self._bar.add_task("scenario seconds", total=self._duration),
                self._bar.add_task("actions answered", total=len(plan.actions)),
                self._bar.add_task("room reports on console", total=reports, visible=reports > 0),
            )
        timeline, done, seen = self._tasks
        self._bar.update(timeline, completed=min(round(elapsed), self._duration))
        self._bar.update(done, completed=outcome.done + len(outcome.failures))
        self._bar.update(seen, completed=len(outcome.reports_seen))


def percentile(ordered: list[float], fraction: float) -> float | None:
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def figures(outcome: Outcome) -> dict[str, Any]:
    """The run's numbers, as one JSON-able object (the last line of `--json`)."""
    latencies = outcome.latencies_ms()
    answers = outcome.answer_times_ms()
    return {
        "scenario": outcome.scenario.name,
        "seed": outcome.scenario.seed,
        "actions": len(outcome.plan.actions),
        "answered": outcome.done,
        "failures": len(outcome.failures),
        "alerts": outcome.alert_ids,
        "room_reports_sent": len(outcome.reports_sent),
        "room_reports_seen": len(set(outcome.reports_seen) & set(outcome.reports_sent)),
        "lost": outcome.lost(),
        "failure_messages": [str(failure) for failure in outcome.failures],
        "report_to_console_ms": {
            "p50": _round(percentile(latencies, 0.5)),
            "p99": _round(percentile(latencies, 0.99)),
            "max": _round(latencies[-1] if latencies else None),
        },
        "report_answered_ms": {
            "p50": _round(percentile(answers, 0.5)),
            "p99": _round(percentile(answers, 0.99)),
            "max": _round(answers[-1] if answers else None),
        },
        "events_seen": dict(sorted(outcome.events.items())),
        "time_scale": outcome.time_scale,
        "expected": {e.alert: _expected(e, outcome.time_scale) for e in outcome.plan.expected},
        "after_action": outcome.after_action,
    }


def summary(console: Console, outcome: Outcome) -> None:
    data = figures(outcome)
    console.print(
        f"[bold]{outcome.scenario.name}[/bold] (seed {outcome.scenario.seed}, run {outcome.run_id})"
    )
    console.print(f"actions answered: {outcome.done} of {data['actions']}")
    for (step, reason), rooms in _grouped(outcome).items():
        if rooms == [None]:
            console.print(f"  [red]FAILED[/red] {step}: {reason}", highlight=False)
        else:
            named = ", ".join(str(r) for r in rooms[:5]) + (", ..." if len(rooms) > 5 else "")
            console.print(
                f"  [red]FAILED[/red] {step}: {len(rooms)} rooms {reason} ({named})",
                highlight=False,
            )
    for name, alert_id in outcome.alert_ids.items():
        console.print(f"alert {name}: {alert_id}")
    if outcome.reports_sent:
        timing = data["report_to_console_ms"]
        console.print(
            f"room reports: {data['room_reports_sent']} accepted, "
            f"{data['room_reports_seen']} seen on the console, {len(data['lost'])} lost; "
            f"report to console p50 {timing['p50']} ms, p99 {timing['p99']} ms, "
            f"max {timing['max']} ms"
        )
    if data["lost"]:
        console.print(f"  [red]LOST[/red] {', '.join(data['lost'])}")
    events = Table("event", "seen", title="Stream events the console saw")
    for kind, count in data["events_seen"].items():
        events.add_row(kind, str(count))
    console.print(events)
    for expected in outcome.plan.expected:
        report = outcome.after_action.get(expected.alert)
        table = Table(
            "after-action figure",
            "the plan says",
            "alertd's report",
            title=f"Alert {expected.alert}",
        )
        given = report_figures(report) if report is not None else {}
        for key, value in _expected(expected, outcome.time_scale).items():
            said = json.dumps(given[key]) if key in given else "(not in the report)"
            table.add_row(key, json.dumps(value), "(no report)" if report is None else said)
        console.print(table)


def _grouped(outcome: Outcome) -> dict[tuple[str, str], list[str | None]]:
    """Failures by step and reason: a roll's rooms refused alike are one line."""
    groups: dict[tuple[str, str], list[str | None]] = {}
    for failure in outcome.failures:
        step = failure.step if failure.room is None else failure.step.split(" ", 1)[1]
        groups.setdefault((step, failure.reason), []).append(failure.room)
    return groups


def _expected(expected: Expected, scale: float) -> dict[str, Any]:
    """The plan's figures in the server's seconds (the scenario's, divided by --speed)."""

    def scaled(seconds: float | None) -> float | None:
        return None if seconds is None else round(seconds * scale, 3)

    return {
        "first_ack_seconds": scaled(expected.first_ack),
        "sro_on_scene_seconds": scaled(expected.sro_on_scene),
        "all_rooms_accounted_seconds": scaled(expected.all_rooms_accounted),
        "rooms_accounted": expected.rooms_accounted,
        "unreported_rooms": list(expected.unreported_rooms),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
