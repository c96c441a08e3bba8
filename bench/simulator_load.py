"""The simulator's load mode against one alertd: 500 rooms report their roll during a
lockdown, and a console times each report.

    .venv/bin/python -m bench.simulator_load                 # 500 rooms within 10 s
    .venv/bin/python -m bench.simulator_load --within 0      # all 500 at once
    .venv/bin/python -m bench.simulator_load --rooms 1000 --within 20
    .venv/bin/python -m bench.simulator_load --url http://127.0.0.1:8000   # (no server CPU)

It runs the shipped `load` scenario (clients/simulator/scenarios/load.yaml) with its room
count and spread changed, through `clients.simulator.runner.simulate` in real time, against
`alertd serve` spawned on a fresh SQLite data dir (as `bench.fanout` does). Printed: the
reports accepted and seen, the lost ones, the p50/p99/max time from a teacher sending its
report to the SRO's console receiving its RoomReported, and the server's CPU time (utime +
stime of the process) from the first action of the timeline until the console saw the last
report. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any

import httpx

from bench.fanout import ServerProcess
from clients.simulator.cli import scenario_path
from clients.simulator.display import figures
from clients.simulator.document import load_scenario
from clients.simulator.pace import RealTime
from clients.simulator.runner import Outcome, simulate
from clients.simulator.scenario import AllClearStep, RollStep, Scenario


def load_scenario_for(rooms: int, within: float, *, margin: float = 60) -> Scenario:
    """The shipped load scenario with `rooms` rooms reporting within `within` seconds, and
    the all clear `margin` seconds after the last report is due."""
    scenario = load_scenario(scenario_path("load"))
    assert scenario.generate_school is not None
    school = scenario.generate_school.model_copy(update={"rooms": rooms})
    [roll] = [step for step in scenario.timeline if isinstance(step, RollStep)]
    # The all clear waits for the last report with a margin: a report that arrives after it
    # is refused (the alert is closed), which would count as a failure, not as slowness.
    all_clear_at = roll.at + within + margin
    timeline = [
        step.model_copy(update={"until": step.at + within if within > 0 else None})
        if isinstance(step, RollStep)
        else step.model_copy(update={"at": max(step.at, all_clear_at)})
        if isinstance(step, AllClearStep)
        else step
        for step in scenario.timeline
    ]
    return scenario.model_copy(update={"generate_school": school, "timeline": timeline})


async def run_load(
    url: str,
    *,
    rooms: int,
    within: float,
    cpu: Any = None,
    settle_seconds: float = 15.0,
    margin: float = 60.0,
) -> tuple[Outcome, float | None]:
    """Run the load scenario; the outcome and the server CPU seconds the timeline took
    (`cpu`: a callable giving the server's CPU seconds so far; None: not measured)."""
    scenario = load_scenario_for(rooms, within, margin=margin)
    started: list[float] = []

    def on_progress(outcome: Outcome, elapsed: float) -> None:
        if not started and cpu is not None:
            started.append(cpu())

    outcome = await simulate(
        scenario, url, pace=RealTime(1.0), progress=on_progress, settle_seconds=settle_seconds
    )
    used = cpu() - started[0] if started and cpu is not None else None
    return outcome, used


async def wait_ready(url: str, server: ServerProcess | None) -> None:
    async with httpx.AsyncClient(base_url=url) as client:
        for _ in range(300):
            if server is not None:
                server.check_alive()
            try:
                if (await client.get("/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("/readyz did not answer 200 within 30 s")


async def main_async(options: argparse.Namespace) -> dict[str, Any]:
    server = None
    url = options.url
    if url is None:
        server = ServerProcess(synchronous=options.synchronous, database_url=options.database_url)
        server.start()
        url = f"http://127.0.0.1:{server.port}"
    try:
        await wait_ready(url, server)
        began = time.perf_counter()
        outcome, cpu = await run_load(
            url,
            rooms=options.rooms,
            within=options.within,
            cpu=server.cpu_seconds if server else None,
        )
        result = figures(outcome)
        result.pop("after_action", None)
        result.pop("expected", None)
        result["failure_messages"] = result["failure_messages"][:10]
        result["server_cpu_seconds"] = None if cpu is None else round(cpu, 2)
        sent = len(outcome.reports_sent)
        result["server_cpu_ms_per_report"] = (
            None if cpu is None or not sent else round(cpu * 1000 / sent, 2)
        )
        result["wall_seconds"] = round(time.perf_counter() - began, 1)
        return result
    finally:
        if server is not None:
            server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rooms", type=int, default=500)
    parser.add_argument("--within", type=float, default=10.0, help="0: all at once")
    parser.add_argument("--url", help="a running alertd (its CPU is not measured)")
    parser.add_argument("--synchronous", default="FULL", help="ALERTD_SQLITE_SYNCHRONOUS")
    parser.add_argument("--database-url", default="", help="default: SQLite in the data dir")
    options = parser.parse_args()
    result = asyncio.run(main_async(options))
    timing = result["report_to_console_ms"]
    print(f"rooms {options.rooms}, reporting within {options.within:g} s")
    print(
        f"reports accepted {result['room_reports_sent']}, seen on the console "
        f"{result['room_reports_seen']}, lost {len(result['lost'])}, "
        f"failures {result['failures']}"
    )
    print(
        f"report -> console: p50 {timing['p50']} ms, p99 {timing['p99']} ms, max {timing['max']} ms"
    )
    answer = result["report_answered_ms"]
    print(
        f"report -> 201:     p50 {answer['p50']} ms, p99 {answer['p99']} ms, max {answer['max']} ms"
    )
    print(
        f"server CPU: {result['server_cpu_seconds']} s "
        f"({result['server_cpu_ms_per_report']} ms per report)"
    )
    for failure in result["failure_messages"]:
        print(f"  failed: {failure}")
    print(json.dumps(result))
    return 0 if not result["lost"] and not result["failures"] else 1


if __name__ == "__main__":
    sys.exit(main())
