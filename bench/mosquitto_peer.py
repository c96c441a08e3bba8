"""The baseline: the same workload relayed by Mosquitto over WebSockets, in the same run.

Mosquitto (Debian's package) is started here with a config of its own, on free loopback
ports: an MQTT listener (Mosquitto 2.0.11 will not start on a WebSocket listener alone) and
the WebSocket listener the benchmark uses. Nothing is persisted.

The workload mirrors `bench.fanout` as closely as MQTT allows:
- a console is an MQTT client over WebSockets subscribed to `alerts/#` at QoS 1, which
  timestamps and parses each message (JSON) and acknowledges it (PUBACK);
- a press is a QoS 1 PUBLISH of an alert-sized JSON body on one of the sender connections
  (8 by default, one per alert in a burst), answered when its PUBACK arrives: the broker's
  "201". Open loop, from the same planned send times; latency from the planned time.

MQTT 3.1.1 is written by hand below (CONNECT, SUBSCRIBE, PUBLISH, PUBACK): a few bytes each.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import time
import uuid
from pathlib import Path
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect

from alertd.testing.mosquitto_server import PrivateMosquitto

STARTUP_SECONDS = 10.0
TOPIC = "alerts"


class MosquittoProcess(PrivateMosquitto):
    """mosquitto with a WebSocket listener on a free loopback port; `stop` when done."""

    def __init__(self) -> None:
        super().__init__(websockets=True)

    def stop(self) -> None:
        self.remove()

    def cpu_seconds(self) -> float:
        assert self._process is not None
        stat = Path(f"/proc/{self._process.pid}/stat").read_text()
        fields = stat.rsplit(")", 1)[1].split()
        return sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _length(n: int) -> bytes:
    out = bytearray()
    while True:
        n, digit = n >> 7, n & 0x7F
        out.append(digit | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _string(text: str) -> bytes:
    raw = text.encode()
    return len(raw).to_bytes(2, "big") + raw


def _packet(first: int, body: bytes) -> bytes:
    return bytes([first]) + _length(len(body)) + body


def _packets(buffer: bytearray) -> list[tuple[int, bytes]]:
    """Whole packets at the front of `buffer` (removed from it): (first byte, body)."""
    found = []
    while len(buffer) >= 2:
        size, shift, index = 0, 0, 1
        while True:
            if index >= len(buffer):
                return found
            byte = buffer[index]
            size |= (byte & 0x7F) << shift
            index += 1
            if not byte & 0x80:
                break
            shift += 7
        if len(buffer) < index + size:
            return found
        found.append((buffer[0], bytes(buffer[index : index + size])))
        del buffer[: index + size]
    return found


async def mqtt_connect(url: str, client_id: str) -> ClientConnection:
    websocket = await connect(url, subprotocols=["mqtt"], compression=None, max_size=None)  # type: ignore[list-item]
    connect_body = _string("MQTT") + bytes([4, 0x02, 0, 60]) + _string(client_id)
    await websocket.send(_packet(0x10, connect_body))
    answer = await websocket.recv()
    if not isinstance(answer, bytes) or answer[:1] != b"\x20" or answer[3] != 0:
        raise RuntimeError(f"mosquitto refused the connection: {answer!r}")
    return websocket


class MqttConsole:
    """A console: subscribed to alerts/# at QoS 1; keeps (perf_counter, message) per message,
    like `bench.fanout.Console`, and acknowledges every message."""

    def __init__(self, websocket: ClientConnection) -> None:
        self.websocket = websocket
        self.received: list[tuple[float, dict[str, Any]]] = []
        self._task = asyncio.create_task(self._receive())
        self._scanned = 0
        self._delivered: set[str] = set()

    @classmethod
    async def open(cls, url: str) -> MqttConsole:
        websocket = await mqtt_connect(url, f"console-{uuid.uuid4().hex[:12]}")
        await websocket.send(
            _packet(0x82, (1).to_bytes(2, "big") + _string(f"{TOPIC}/#") + b"\x01")
        )
        answer = await websocket.recv()
        if not isinstance(answer, bytes) or answer[:1] != b"\x90":
            raise RuntimeError(f"mosquitto refused the subscription: {answer!r}")
        return cls(websocket)

    async def _receive(self) -> None:
        append, loads, clock = self.received.append, orjson.loads, time.perf_counter
        buffer = bytearray()
        with contextlib.suppress(Exception):
            async for frame in self.websocket:
                at = clock()
                buffer += frame if isinstance(frame, bytes) else frame.encode()
                acks = []
                for first, body in _packets(buffer):
                    if first >> 4 != 3:
                        continue
                    topic_end = 2 + int.from_bytes(body[:2], "big")
                    if (first >> 1) & 3:  # QoS 1: a packet id, then the payload
                        acks.append(_packet(0x40, body[topic_end : topic_end + 2]))
                        topic_end += 2
                    append((at, loads(body[topic_end:])))
                for ack in acks:
                    await self.websocket.send(ack)

    def has_all(self, alert_ids: set[str]) -> bool:
        for _at, message in self.received[self._scanned :]:
            if message.get("alert_id") in alert_ids:
                self._delivered.add(message["alert_id"])
        self._scanned = len(self.received)
        return len(self._delivered) >= len(alert_ids)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.websocket.send(b"\xe0\x00")  # DISCONNECT
        await self.websocket.close()
        await self._task


class Publisher:
    """One sender connection: QoS 1 PUBLISH, answered by its PUBACK."""

    def __init__(self, websocket: ClientConnection) -> None:
        self.websocket = websocket
        self._ids = itertools.cycle(range(1, 65536))
        self._waiting: dict[int, asyncio.Future[None]] = {}
        self._task = asyncio.create_task(self._receive())

    async def _receive(self) -> None:
        buffer = bytearray()
        with contextlib.suppress(Exception):
            async for frame in self.websocket:
                buffer += frame if isinstance(frame, bytes) else frame.encode()
                for first, body in _packets(buffer):
                    if first >> 4 == 4 and (
                        done := self._waiting.pop(int.from_bytes(body[:2], "big"), None)
                    ):
                        done.set_result(None)
        for waiting in self._waiting.values():
            if not waiting.done():
                waiting.set_exception(ConnectionError("mosquitto closed the connection"))

    async def publish(self, topic: str, payload: bytes) -> None:
        packet_id = next(self._ids)
        answered = asyncio.get_running_loop().create_future()
        self._waiting[packet_id] = answered
        await self.websocket.send(
            _packet(0x32, _string(topic) + packet_id.to_bytes(2, "big") + payload)
        )
        await answered

    async def close(self) -> None:
        await self.websocket.close()
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


def alert_sized_body(
    *, alert_id: str, index: int, school_id: str, room_id: str | None, kind: str, drill: bool
) -> bytes:
    """An AlertRaised-like JSON body, about the size alertd's consoles receive."""
    return orjson.dumps(
        {
            "id": index,
            "type": "AlertRaised",
            "alert_id": alert_id,
            "at": "2026-12-07T12:00:00.000000Z",
            "actor": {
                "id": "demo-drill_coordinator",
                "role": "drill_coordinator",
                "name": "Dana Drill",
            },
            "alert": {
                "id": alert_id,
                "kind": kind,
                "state": "raised",
                "school_id": school_id,
                "building_id": "main",
                "room_id": room_id,
                "raised_by": "demo-drill_coordinator",
                "raised_at": "2026-12-07T12:00:00.000000Z",
                "drill": drill,
                "scope": "room",
                "note": None,
                "destination": None,
                "hazard": None,
                "source": "app",
                "acknowledged_by": [],
                "statuses": {},
                "notes": [],
            },
            "padding": "x" * 400,
        }
    )


async def run_mosquitto(options: Any) -> dict[str, Any]:
    """`bench.fanout`'s workload (its options) against a Mosquitto started here."""
    from bench import fanout  # here: bench.fanout imports this module for --peer

    broker = MosquittoProcess()
    broker.start()
    consoles: list[MqttConsole] = []
    publishers: list[Publisher] = []
    try:
        consoles = list(
            await asyncio.gather(*(MqttConsole.open(broker.url) for _ in range(options.consoles)))
        )
        senders = (mqtt_connect(broker.url, f"press-{i}") for i in range(options.connections))
        publishers = [Publisher(websocket) for websocket in await asyncio.gather(*senders)]
        await asyncio.sleep(0.5)
        rooms = [f"room-{i}" for i in range(1, 74)]
        sent = fanout.workload(
            fanout.plan_of(options), rooms, real_every=options.real_every, medical=options.medical
        )
        idle: asyncio.Queue[Publisher] = asyncio.Queue()
        for publisher in publishers:
            idle.put_nowait(publisher)

        async def press(index: int, item: fanout.Sent) -> None:
            alert_id = str(uuid.uuid4())
            body = alert_sized_body(
                alert_id=alert_id,
                index=index,
                school_id=item.school_id,
                room_id=item.room_id,
                kind=item.kind,
                drill=item.drill,
            )
            publisher = await idle.get()
            item.started = time.perf_counter()
            try:
                await publisher.publish(f"{TOPIC}/{item.school_id}/{item.room_id}", body)
                item.status, item.alert_id = 201, alert_id
            except Exception:  # a failed publish is a lost alert
                item.status = 0
            finally:
                item.answered = time.perf_counter()
                idle.put_nowait(publisher)

        cpu_before, client_before = broker.cpu_seconds(), time.process_time()
        tasks = []
        for index, item in enumerate(sent):
            if (delay := item.planned - time.perf_counter()) > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(press(index, item)))
        await asyncio.gather(*tasks)
        await fanout.wait_for_delivery(consoles, {s.alert_id for s in sent if s.alert_id})  # type: ignore[arg-type]
        figures = fanout.figures_of(sent, consoles)  # type: ignore[arg-type]
        per_alert = 1000 / max(1, figures["alerts_created"])
        figures["client_cpu_ms_per_alert"] = round(
            (time.process_time() - client_before) * per_alert, 2
        )
        figures["server_cpu_ms_per_alert"] = round(
            (broker.cpu_seconds() - cpu_before) * per_alert, 2
        )
        return figures
    finally:
        await asyncio.gather(*(c.close() for c in consoles), return_exceptions=True)
        await asyncio.gather(*(p.close() for p in publishers), return_exceptions=True)
        broker.stop()
