"""The hardware button bridge, as a school runs it: a wall button (the simulator, holding its
secret) publishes on a real Mosquitto, the bridge carries its signed requests to a real
`alertd serve`, and the dispatcher sees the result on the API and the stream.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import websockets

from alertd.testing.auth import headers_for
from alertd.testing.mosquitto_server import host_and_port, mosquitto_server
from clients.button_bridge import Bridge, BridgeConfig
from clients.button_bridge.pattern import presses
from clients.button_bridge.simulator import SimulatedDevice, publish

if TYPE_CHECKING:
    from conftest import AlertdProcess, AlertdProcesses

pytestmark = pytest.mark.integration

SCHOOL = "lincoln-hs"
ROOM = "lincoln-hs-a-204"
WAIT_SECONDS = 30


@pytest.fixture(scope="session")
def mqtt() -> Iterator[tuple[str, int]]:
    with mosquitto_server() as url:
        yield host_and_port(url)


@pytest.fixture
def data_dir(tmp_path: Path, alertd_processes: AlertdProcesses) -> Path:
    path = tmp_path / "alertd"
    path.mkdir()
    alertd_processes.upgrade(path)
    return path


async def start_alertd(
    processes: AlertdProcesses, data_dir: Path, *, port: int | None = None
) -> AlertdProcess:
    return await processes.start(data_dir, port=port, ALERTD_DEVICE_SUPERVISION_SECONDS="0.2")


async def register_wall_button(server: AlertdProcess, room: str = ROOM) -> SimulatedDevice:
    """An admin registers a wall button in `room`; the secret goes into the device."""
    async with httpx.AsyncClient(base_url=server.url) as client:
        answer = await client.post(
            "/v1/devices",
            headers=await headers_for(client, "district_admin"),
            json={"name": f"Panic button {room}", "kind": "wall_button",
                  "school_id": SCHOOL, "room_id": room},
        )  # fmt: skip
    assert answer.status_code == 201, answer.text
    issued = answer.json()
    return SimulatedDevice(issued["device"]["id"], issued["secret"], SCHOOL)


@asynccontextmanager
async def running_bridge(
    mqtt: tuple[str, int], alertd_url: str, buffer: Path, client_id: str | None = None
) -> AsyncIterator[Bridge]:
    config = BridgeConfig(
        mqtt_host=mqtt[0],
        mqtt_port=mqtt[1],
        alertd_url=alertd_url,
        buffer_path=buffer,
        client_id=client_id or f"bridge-{uuid.uuid4().hex[:8]}",
        retry_max_seconds=0.5,
    )
    bridge = Bridge(config)
    task = asyncio.create_task(bridge.run())
    try:
        async with asyncio.timeout(WAIT_SECONDS):
            await bridge.ready.wait()
        yield bridge
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def alerts_of(server: AlertdProcess) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=server.url) as client:
        answer = await client.get(
            "/v1/alerts", params={"school": SCHOOL},
            headers=await headers_for(client, "dispatcher"),
        )  # fmt: skip
    assert answer.status_code == 200, answer.text
    alerts: list[dict[str, Any]] = answer.json()["alerts"]
    return alerts


async def until(check: Callable[[], Any], what: str) -> Any:
    """Poll `check` (sync or async) until it returns something truthy."""
    try:
        async with asyncio.timeout(WAIT_SECONDS):
            while True:
                result = check()
                if asyncio.iscoroutine(result):
                    result = await result
                if result:
                    return result
                await asyncio.sleep(0.1)
    except TimeoutError:
        pytest.fail(f"waited {WAIT_SECONDS} s for {what}")


async def test_three_presses_ask_for_staff_assist_in_the_room_and_eight_start_a_lockdown(
    mqtt: tuple[str, int], alertd_processes: AlertdProcesses, data_dir: Path, tmp_path: Path
) -> None:
    server = await start_alertd(alertd_processes, data_dir)
    button = await register_wall_button(server)
    async with running_bridge(mqtt, server.url, tmp_path / "buffer.sqlite3") as bridge:
        await publish(*mqtt, button.alerts_for(presses(3)))
        [assist] = await until(lambda: alerts_of(server), "the staff assist")
        assert (assist["kind"], assist["room_id"], assist["source"]) == (
            "staff_assist", ROOM, "wall_button",
        )  # fmt: skip

        await publish(*mqtt, button.alerts_for(presses(8)))
        alerts = await until(
            lambda: _when(alerts_of(server), lambda found: len(found) == 2), "the lockdown"
        )
        lockdown = next(a for a in alerts if a["kind"] == "lockdown")
        assert lockdown["room_id"] == ROOM
        assert bridge.buffer.counts() == {"pending": 0, "delivered": 2, "refused": 0}


async def test_a_forged_and_a_replayed_message_are_refused_and_raise_nothing(
    mqtt: tuple[str, int], alertd_processes: AlertdProcesses, data_dir: Path, tmp_path: Path
) -> None:
    server = await start_alertd(alertd_processes, data_dir)
    button = await register_wall_button(server)
    forger = SimulatedDevice(button.device_id, "not-the-device-secret", SCHOOL)
    async with running_bridge(mqtt, server.url, tmp_path / "first.sqlite3") as bridge:
        await publish(*mqtt, forger.alerts_for(presses(8)))
        await until(lambda: bridge.buffer.counts()["refused"] == 1, "the forgery refused")
        assert await alerts_of(server) == []

        genuine = button.alerts_for(presses(3))
        await publish(*mqtt, genuine)
        await until(lambda: bridge.buffer.counts()["delivered"] == 1, "the genuine press")
        await publish(*mqtt, genuine)  # the same message again: kept once by the bridge
        await asyncio.sleep(0.5)
        assert bridge.buffer.counts() == {"pending": 0, "delivered": 1, "refused": 1}

    # A replay through another bridge (its own buffer): alertd refuses the used nonce.
    async with running_bridge(mqtt, server.url, tmp_path / "second.sqlite3") as other:
        await publish(*mqtt, genuine)
        await until(lambda: other.buffer.counts()["refused"] == 1, "the replay refused")
    assert [a["kind"] for a in await alerts_of(server)] == ["staff_assist"]


async def test_a_silent_device_and_a_low_battery_raise_device_trouble_on_the_stream(
    mqtt: tuple[str, int], alertd_processes: AlertdProcesses, data_dir: Path, tmp_path: Path
) -> None:
    server = await start_alertd(alertd_processes, data_dir)
    button = await register_wall_button(server)
    async with (
        running_bridge(mqtt, server.url, tmp_path / "buffer.sqlite3"),
        websockets.connect(await server.stream_url(0, "dispatcher"), proxy=None) as stream,
    ):
        await publish(*mqtt, [button.heartbeat(interval_seconds=1, battery_percent=9)])
        low = await next_notice(stream, "DeviceTrouble")
        assert (low["data"]["reason"], low["data"]["device_id"], low["data"]["room_id"]) == (
            "low_battery", button.device_id, ROOM,
        )  # fmt: skip
        # Nothing more is heard: after its 1 s interval the device is an alarm.
        silent = await next_notice(stream, "DeviceTrouble")
        assert (silent["data"]["reason"], silent["data"]["device_id"]) == (
            "silent", button.device_id,
        )  # fmt: skip
        assert silent["school_id"] == SCHOOL

        await publish(*mqtt, [button.heartbeat(interval_seconds=60, battery_percent=80)])
        recovered = await next_notice(stream, "DeviceRecovered")
        assert recovered["data"]["device_id"] == button.device_id


async def test_presses_while_alertd_is_down_arrive_exactly_once_when_it_is_back(
    mqtt: tuple[str, int], alertd_processes: AlertdProcesses, data_dir: Path, tmp_path: Path
) -> None:
    server = await start_alertd(alertd_processes, data_dir)
    button = await register_wall_button(server)
    port = int(server.url.rsplit(":", 1)[1])
    async with running_bridge(mqtt, server.url, tmp_path / "buffer.sqlite3") as bridge:
        server.kill()
        await publish(*mqtt, button.alerts_for(presses(3)))
        await publish(*mqtt, button.alerts_for(presses(8)))
        await until(lambda: bridge.buffer.counts()["pending"] == 2, "both presses buffered")
        await asyncio.sleep(1.0)  # a few failed attempts against the dead server
        assert bridge.buffer.counts()["pending"] == 2

        restarted = await start_alertd(alertd_processes, data_dir, port=port)
        await until(lambda: bridge.buffer.counts()["pending"] == 0, "the buffer drained")
        await asyncio.sleep(1.0)  # room for a duplicate to show up, if there were one
        kinds = sorted(a["kind"] for a in await alerts_of(restarted))
        assert kinds == ["lockdown", "staff_assist"]
        assert bridge.buffer.counts() == {"pending": 0, "delivered": 2, "refused": 0}


async def test_presses_made_while_the_bridge_is_down_arrive_when_it_is_back(
    mqtt: tuple[str, int], alertd_processes: AlertdProcesses, data_dir: Path, tmp_path: Path
) -> None:
    server = await start_alertd(alertd_processes, data_dir)
    button = await register_wall_button(server)
    name, buffer = f"bridge-{uuid.uuid4().hex[:8]}", tmp_path / "buffer.sqlite3"
    async with running_bridge(mqtt, server.url, buffer, client_id=name):
        pass  # the bridge's session is now known to the broker
    # The broker keeps QoS 1 messages for the bridge's session while it is away.
    await publish(*mqtt, button.alerts_for(presses(3)))
    async with running_bridge(mqtt, server.url, buffer, client_id=name) as bridge:
        [assist] = await until(lambda: alerts_of(server), "the staff assist")
        assert assist["kind"] == "staff_assist"
        await asyncio.sleep(0.5)
        assert bridge.buffer.counts() == {"pending": 0, "delivered": 1, "refused": 0}


async def next_notice(stream: Any, notice_type: str) -> dict[str, Any]:
    async with asyncio.timeout(WAIT_SECONDS):
        while True:
            message = json.loads(await stream.recv())
            if message.get("type") == notice_type:
                return dict(message)


async def _when(found: Any, fits: Callable[[Any], bool]) -> Any:
    value = await found
    return value if fits(value) else None
