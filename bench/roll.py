"""The roll: how long a room's report and a read of the roll take, and the pure fold.

    .venv/bin/python -m bench.roll                 # the demo district on SQLite, 3 rounds
    .venv/bin/python -m bench.roll --rounds 10 --concurrency 8

Serves alertd in this process (a temp data dir, the demo district), raises a lockdown at
Lincoln High, and has every expected room report (`--concurrency` at a time), `--rounds`
times (each round supersedes the last). Prints the latency of POST /v1/alerts/{id}/roll and
of GET /v1/alerts/{id}/roll (which folds the alert's whole log), and the pure core's fold
and view of a roll of 1000 reports. Prints numbers; asserts nothing. The last line is JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from alertd.adapters.db import migrate
from alertd.core.actor import Actor
from alertd.core.alert import Alert, AlertEvent, AlertState, EventType
from alertd.core.kind import AlertKind, Severity
from alertd.core.roll import ReportRoll, fold_roll, record_report, view_roll
from alertd.main import create_app, demo_site
from alertd.testing.auth import headers_for
from alertd.testing.live import serving
from alertd.testing.settings import make_settings


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary(name: str, seconds: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    figures = {
        "n": len(ms),
        "p50_ms": round(statistics.median(ms), 2),
        "p99_ms": round(percentile(ms, 0.99), 2),
        "max_ms": round(max(ms), 2),
    }
    print(f"{name:<28} n={figures['n']:<5} p50 {figures['p50_ms']:>7} ms   "
          f"p99 {figures['p99_ms']:>7} ms   max {figures['max_ms']:>7} ms")  # fmt: skip
    return figures


async def http_figures(rounds: int, concurrency: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as data:
        url = f"sqlite:///{Path(data) / 'alertd.db'}"
        migrate.upgrade(url)
        settings = make_settings(Path(data), url, log_level="WARNING")
        async with serving(create_app(settings)) as base:
            async with httpx.AsyncClient(base_url=base, timeout=30) as client:
                client.headers.update(await headers_for(client, "district_admin"))
                raised = await client.post(
                    "/v1/alerts",
                    json={"kind": "lockdown", "school_id": "lincoln-hs", "drill": True},
                    headers={"Idempotency-Key": str(uuid.uuid4())},
                )
                alert_id = raised.json()["id"]
                rooms = (await client.get(f"/v1/alerts/{alert_id}/roll")).json()["unreported"]
                posts: list[float] = []
                gate = asyncio.Semaphore(concurrency)

                async def report(room: str, n: int) -> None:
                    body = {"room_id": room, "status": "secured", "students_present": n}
                    async with gate:
                        start = time.perf_counter()
                        answer = await client.post(f"/v1/alerts/{alert_id}/roll", json=body)
                        posts.append(time.perf_counter() - start)
                    answer.raise_for_status()

                for n in range(rounds):
                    await asyncio.gather(*(report(room, n) for room in rooms))
                gets: list[float] = []
                for _ in range(50):
                    start = time.perf_counter()
                    (await client.get(f"/v1/alerts/{alert_id}/roll")).raise_for_status()
                    gets.append(time.perf_counter() - start)
    print(f"{len(rooms)} expected rooms, {rounds} rounds, {concurrency} at a time")
    return {
        "rooms": len(rooms),
        "post_roll": summary("POST /v1/alerts/{id}/roll", posts),
        "get_roll": summary(f"GET roll ({len(rooms) * rounds} reports)", gets),
    }


def fold_figures(reports: int = 1000) -> dict[str, Any]:
    school = next(s for s in demo_site().to_site().schools if s.id == "lincoln-hs")
    rooms = [r.id for _b, _f, r in school.places()]
    t0 = datetime(2026, 9, 1, 9, tzinfo=UTC)
    actor = Actor("u", "Teacher", role="staff")
    alert = Alert("a", AlertKind.LOCKDOWN, Severity.EXTREME, school.id, None,
                  AlertState.RAISED, False, actor, t0, t0, 1)  # fmt: skip
    events = [AlertEvent(EventType.ALERT_RAISED, alert, actor, t0)]
    for n in range(reports):
        command = ReportRoll(rooms[n % len(rooms)], None, "secured", n % 30)
        now = t0 + timedelta(seconds=n)
        events.append(record_report(alert, command, school=school, actor=actor, now=now))
    times = []
    for _ in range(50):
        start = time.perf_counter()
        view_roll(fold_roll("a", events), school, now=t0 + timedelta(hours=1))
        times.append(time.perf_counter() - start)
    return {"fold_and_view": summary(f"fold + view ({reports} reports)", times)}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.roll", description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    figures = {**asyncio.run(http_figures(args.rounds, args.concurrency)), **fold_figures()}
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
