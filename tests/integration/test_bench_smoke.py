"""The fan-out benchmark, run small so that it cannot rot: alertd and the Mosquitto peer
both deliver every alert of the workload (drills and real ones, and the distinct medical
alert of another school) to every console, once. No timing is asserted: speed is what the
benchmark prints (bench/README.md).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

REPO = Path(__file__).resolve().parents[2]


def run_bench(*arguments: str) -> dict[str, Any]:
    """`python -m bench.fanout` with these arguments; its final JSON line."""
    finished = subprocess.run(
        [sys.executable, "-m", "bench.fanout", "--peer", "mosquitto", "--medical", *arguments],
        cwd=REPO,
        capture_output=True,
        timeout=240,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr.decode()[-3000:]
    last_line = finished.stdout.decode().strip().splitlines()[-1]
    return dict(orjson.loads(last_line))


def assert_all_delivered(figures: dict[str, Any], *, consoles: int) -> None:
    assert figures["http_errors"] == 0
    assert figures["alerts_created"] == figures["alerts_sent"]
    assert figures["real_alerts"] >= 1  # real presses are mixed in with the drills
    assert figures["pairs_expected"] == figures["alerts_sent"] * consoles
    assert figures["pairs_received"] == figures["pairs_expected"]
    assert figures["lost"] == 0
    assert figures["duplicates"] == 0
    assert figures["distinct_max_ms"] is not None  # the other school's alert reached all


def test_steady_workload_reaches_every_console_on_alertd_and_mosquitto() -> None:
    figures = run_bench("--rate", "10", "--seconds", "1", "--consoles", "3")

    assert_all_delivered(figures, consoles=3)
    assert figures["out_of_order"] == 0  # alertd's ids follow commit order
    assert figures["server_cpu_ms_per_alert"] > 0
    assert_all_delivered(figures["peer"], consoles=3)
    assert figures["ratio_latency_p50_ms"] is not None


def test_burst_with_a_distinct_alert_reaches_every_console() -> None:
    figures = run_bench("--burst", "--burst-alerts", "40", "--consoles", "3")

    assert_all_delivered(figures, consoles=3)
    assert figures["fully_delivered_ms"] is not None
    assert_all_delivered(figures["peer"], consoles=3)
