"""`alertd simulate` as an operator runs it, against a real `alertd serve`: a badge's
lockdown carried over a real Mosquitto by the button bridge, sped up 30 times; and the
load mode's smoke run (every room's report reaches the console, none lost; no timings).

Until room accountability is merged into this alertd (its OpenAPI has no roll route), the
room reports are refused as unknown routes and only that is checked of them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from alertd.testing.auth import headers_for
from alertd.testing.mosquitto_server import host_and_port, mosquitto_server
from bench.simulator_load import run_load
from clients.simulator.cli import scenario_path

if TYPE_CHECKING:
    from conftest import AlertdProcess, AlertdProcesses

pytestmark = pytest.mark.integration

ROLL_ROUTE = "/v1/alerts/{alert_id}/roll"


@pytest.fixture(scope="module")
def mqtt() -> Iterator[tuple[str, int]]:
    with mosquitto_server() as url:
        yield host_and_port(url)


@pytest.fixture
async def server(alertd_processes: AlertdProcesses, tmp_path: Path) -> AlertdProcess:
    data_dir = tmp_path / "alertd"
    data_dir.mkdir()
    alertd_processes.upgrade(data_dir)
    return await alertd_processes.start(data_dir)


async def has_roll_call(server: AlertdProcess) -> bool:
    async with httpx.AsyncClient(base_url=server.url) as client:
        paths = (await client.get("/openapi.json")).json()["paths"]
    return ROLL_ROUTE in paths


def simulate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "alertd", "simulate", *args],
        capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip


async def test_a_badge_lockdown_over_mqtt_runs_sped_up_from_the_command_line(
    server: AlertdProcess, mqtt: tuple[str, int], tmp_path: Path
) -> None:
    shipped = scenario_path("lockdown_badge").read_text()
    scenario = tmp_path / "badge.yaml"
    scenario.write_text(shipped.replace("port: 1883", f"port: {mqtt[1]}"))

    refused = simulate(str(scenario), "--url", server.url, "--no-progress")
    assert refused.returncode == 2 and "REAL alerts" in refused.stderr  # not a drill

    run = simulate(str(scenario), "--url", server.url, "--real-alerts", "--speed", "30",
                   "--no-progress", "--json", "--settle", "15")  # fmt: skip
    figures: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
    async with httpx.AsyncClient(base_url=server.url) as client:
        answer = await client.get(
            f"/v1/alerts/{figures['alerts']['alert']}",
            headers=await headers_for(client, "dispatcher"),
        )
    alert = answer.json()
    assert (alert["kind"], alert["room_id"], alert["source"], alert["drill"]) == (
        "lockdown", "lincoln-hs-a-204", "badge", False,
    )  # fmt: skip
    assert alert["raised_by"]["kind"] == "device" and alert["state"] == "all_clear"
    assert {r["actor"]["role"]: r["status"] for r in alert["responders"]} == {
        "dispatcher": "acknowledged", "sro": "on_scene",
    }  # fmt: skip
    seen = figures["events_seen"]
    for kind in ("AlertRaised", "AlertAcknowledged", "ResponderStatusReported", "AllClearGiven"):
        assert seen.get(kind) == 1, (kind, seen)
    if await has_roll_call(server):
        assert run.returncode == 0, run.stdout + run.stderr
        assert figures["room_reports_seen"] == 40 and figures["lost"] == []
    else:
        failures = figures["failure_messages"]
        assert run.returncode == 1 and len(failures) == 40
        assert all("roll" in f and "refused 404" in f for f in failures)
    # The badge registered for the run is disabled again: its secret died with the run.
    async with httpx.AsyncClient(base_url=server.url) as client:
        devices = (
            await client.get(
                "/v1/devices",
                params={"school": "lincoln-hs"},
                headers=await headers_for(client, "district_admin"),
            )
        ).json()["devices"]
    [badge] = [d for d in devices if d["id"].startswith("sim-")]
    assert badge["disabled"] is True


async def test_load_smoke_every_room_report_reaches_the_console(server: AlertdProcess) -> None:
    outcome, cpu = await run_load(server.url, rooms=120, within=2, settle_seconds=20, margin=20)
    assert cpu is None
    assert outcome.alert_ids.keys() == {"alert"}
    assert outcome.events["AlertRaised"] == 1 and outcome.events["AllClearGiven"] == 1
    assert len(outcome.plan.rooms) == 120
    if await has_roll_call(server):
        assert outcome.failures == [] and outcome.lost() == []
        assert set(outcome.reports_seen) == set(outcome.plan.rooms)
    else:
        assert len(outcome.failures) == 120
        assert all("roll" in str(f) and "refused 404" in str(f) for f in outcome.failures)
