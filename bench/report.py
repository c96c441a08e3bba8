"""After-action reports of big incidents: how long the report takes to build and render.
Prints numbers; asserts nothing.

    .venv/bin/python -m bench.report [--rooms 300] [--reports 1200] [--deliveries 600]

Pure, in-process: a lockdown with `--rooms` expected rooms, `--reports` RoomReported events
(rooms reporting, some again), a few responder events, and `--deliveries` texts and calls
in the ledger. Times `build_report` (core) and each rendering (JSON data, HTML with its two
SVG charts, CSV), the median of `--repeat` runs, and prints the HTML's size.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from alertd.adapters.report.data import report_to_dict
from alertd.adapters.report.html import report_html
from alertd.adapters.report.table import report_csv
from alertd.core.actor import Actor
from alertd.core.alert import Alert, AlertEvent, AlertState, EventType
from alertd.core.delivery import Channel, Delivery, DeliveryState
from alertd.core.kind import AlertKind, Severity
from alertd.core.report import build_report
from alertd.core.roll import ExpectedRoom

T0 = datetime(2026, 10, 14, 14, 0, tzinfo=UTC)
SRO = Actor("sro-1", "Officer Riley", role="sro")
TEACHER = Actor("t-1", "Ms. Rivera", role="staff")


def incident(rooms: int, reports: int, deliveries: int) -> tuple[Any, ...]:
    alert = Alert(
        id="bench",
        kind=AlertKind.LOCKDOWN,
        severity=Severity.EXTREME,
        school_id="s",
        room_id=None,
        state=AlertState.ALL_CLEAR,
        drill=True,
        raised_by=SRO,
        raised_at=T0,
        updated_at=T0,
        version=1,
    )
    expected = [ExpectedRoom(f"r{i}", f"Room {i}", str(i), "b", "f") for i in range(rooms)]

    def at(seconds: float) -> datetime:
        return T0 + timedelta(seconds=seconds)

    events = [
        AlertEvent(EventType.ALERT_RAISED, alert, SRO, T0),
        AlertEvent(EventType.ALERT_ACKNOWLEDGED, alert, SRO, at(30)),
        AlertEvent(
            EventType.RESPONDER_STATUS_REPORTED, alert, SRO, at(90), data={"status": "on_scene"}
        ),
    ]
    for i in range(reports):
        data = {
            "room_id": f"r{i % rooms}",
            "group": None,
            "status": "needs_help" if i % 17 == 0 else "secured",
            "students_present": 20,
            "missing": [],
            "injured": ["A. Student"] if i % 17 == 0 else [],
            "extra": [],
        }
        events.append(AlertEvent(EventType.ROOM_REPORTED, alert, TEACHER, at(60 + i), data=data))
    events.append(AlertEvent(EventType.ALL_CLEAR_GIVEN, alert, SRO, at(60 + reports + 60)))
    ledger = [
        Delivery(
            id=i,
            alert_id="bench",
            school_id="s",
            recipient_id=f"p{i}",
            recipient_name=f"Person {i}",
            recipient_kind="sro",
            channel=Channel.VOICE if i % 5 == 0 else Channel.SMS,
            address="+15555550100",
            about="AlertRaised",
            drill=True,
            state=DeliveryState.FAILED if i % 23 == 0 else DeliveryState.DELIVERED,
            attempts=1,
            error="unreachable" if i % 23 == 0 else None,
            created_at=at(1),
            updated_at=at(4 + i % 7),
        )
        for i in range(deliveries)
    ]
    return alert, events, ledger, expected


def median_ms(work: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", type=int, default=300)
    parser.add_argument("--reports", type=int, default=1200)
    parser.add_argument("--deliveries", type=int, default=600)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    alert, events, ledger, expected = incident(args.rooms, args.reports, args.deliveries)
    now = T0 + timedelta(hours=1)
    report = build_report(alert, events, ledger, expected, now=now)
    print(
        f"{len(events)} events ({args.reports} room reports), {len(ledger)} deliveries, "
        f"{len(expected)} expected rooms; median of {args.repeat} runs:"
    )
    steps: dict[str, Callable[[], object]] = {
        "build_report (core)": lambda: build_report(alert, events, ledger, expected, now=now),
        "JSON data": lambda: report_to_dict(report),
        "HTML with SVG charts": lambda: report_html(report),
        "CSV": lambda: report_csv(report),
    }
    for name, work in steps.items():
        print(f"  {name:<22} {median_ms(work, args.repeat):8.2f} ms")
    print(f"  HTML size              {len(report_html(report)) / 1024:8.1f} KiB")


if __name__ == "__main__":
    main()
