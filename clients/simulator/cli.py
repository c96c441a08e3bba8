"""`alertd simulate SCENARIO --url URL`: run a drill scenario (or a load test) against a
running alertd as simulated teachers, buttons, SROs and dispatchers.

Exit status: 0 when every action was answered as planned and the console saw every room's
report; 1 when something was refused or lost; 2 when the scenario file is broken (nothing
is sent) or the set-up was refused.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path

SHIPPED = Path(__file__).parent / "scenarios"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "scenario",
        help="a scenario file (YAML), or the name of a shipped one: "
        + ", ".join(sorted(p.stem for p in SHIPPED.glob("*.yaml"))),
    )
    parser.add_argument(
        "--url",
        default=os.environ.get("ALERTD_URL", "http://127.0.0.1:8000"),
        help="alertd's base URL (default: $ALERTD_URL or http://127.0.0.1:8000)",
    )
    parser.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="run this many times faster than real time (the server's timestamps shrink "
        "by as much)",
    )
    parser.add_argument("--seed", type=int, help="override the scenario's seed")
    parser.add_argument("--check", action="store_true", help="check the file; send nothing")
    parser.add_argument(
        "--real-alerts",
        action="store_true",
        help="allow a scenario with drill: false (it raises REAL alerts: test servers only)",
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=10.0,
        help="seconds the console is given after the last action to see every report",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--json", action="store_true", help="end with the figures as JSON")


def scenario_path(name: str) -> Path:
    path = Path(name)
    if not path.exists() and (SHIPPED / f"{name}.yaml").exists():
        return SHIPPED / f"{name}.yaml"
    return path


def run(args: argparse.Namespace) -> int:
    # Imported here: `alertd` reads this module on every start (see the package's doc).
    from rich.console import Console

    from clients.simulator.cast import SetupFailed
    from clients.simulator.display import ProgressBar, figures, summary
    from clients.simulator.document import ScenarioRefused, load_scenario
    from clients.simulator.pace import RealTime
    from clients.simulator.plan import RoomsUnavailable
    from clients.simulator.runner import simulate

    try:
        scenario = load_scenario(scenario_path(args.scenario))
    except ScenarioRefused as refused:
        print(refused, file=sys.stderr)
        return 2
    if args.seed is not None:
        scenario = scenario.model_copy(update={"seed": args.seed})
    if args.check:
        print(f"{args.scenario}: a valid scenario ({len(scenario.timeline)} steps)")
        return 0
    if not scenario.drill and not args.real_alerts:
        print(
            "this scenario raises REAL alerts (drill: false); run it against a test "
            "server with --real-alerts",
            file=sys.stderr,
        )
        return 2
    if args.speed <= 0:
        print("--speed must be positive", file=sys.stderr)
        return 2
    pace = RealTime(args.speed)

    async def go() -> int:
        with ProgressBar(Console(stderr=True), enabled=not args.no_progress) as bar:
            outcome = await simulate(
                scenario, args.url, pace=pace, progress=bar, settle_seconds=args.settle
            )
        summary(Console(), outcome)
        if args.json:
            print(json.dumps(figures(outcome)))
        return 0 if outcome.ok else 1

    try:
        return asyncio.run(go())
    except (SetupFailed, RoomsUnavailable) as error:
        print(f"set-up refused: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
