"""Press-to-console latency: POST /v1/alerts, then time the AlertRaised at every console.

    python -m bench.fanout            # steady: 20 alerts/s for 10 s to 50 consoles
    python -m bench.fanout --burst    # 500 alerts within 100 ms to 20 consoles

A fresh server is started (temp data dir, SQLite, demo district) and stopped at the end;
`--url` measures a running one instead (its CPU cannot be read then). Sending is open loop:
each POST starts at its planned time whatever the earlier ones are doing. Console receive
loops only timestamp and parse; every figure is computed afterwards. It prints figures and a
final JSON line; it asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit
from urllib.request import Request, urlopen

import orjson
import uvloop
from websockets.asyncio.client import ClientConnection, connect

GRACE_SECONDS = 5.0  # a delivery not seen this long after the last POST answered is lost
SCHOOL = "lincoln-hs"  # the flood's school
OTHER_SCHOOL = "jefferson-es"  # the distinct alert's
_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)
Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class ServerProcess:
    """`alertd serve` as a child process, on a fresh data dir and a free port."""

    def __init__(
        self, *, synchronous: str, database_url: str, extra: dict[str, str] | None = None
    ) -> None:
        """`extra`: more ALERTD_* settings, named without the prefix."""
        self.data_dir = Path(tempfile.mkdtemp(prefix="alertd-bench-"))
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        settings = {
            "DATA_DIR": str(self.data_dir),
            "DATABASE_URL": database_url,
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "DEMO": "true",
            "DEV_MODE": "true",  # seeds the demo users the benchmark signs in as
            "SECRET_KEY": "benchmark-secret",
            # One account stands in for hundreds of buttons: its presses must not join.
            "REPEAT_PRESS_SECONDS": "0",
            "LOG_LEVEL": "WARNING",
            "SQLITE_SYNCHRONOUS": synchronous,
            **(extra or {}),
        }
        self._env = os.environ | {f"ALERTD_{name}": value for name, value in settings.items()}
        self._log = self.data_dir / "server.log"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Migrate the database, then start serving. Call `stop` in any case."""
        alertd = [sys.executable, "-m", "alertd"]
        subprocess.run([*alertd, "db", "upgrade"], env=self._env, check=True, capture_output=True)
        with self._log.open("wb") as log:
            self._process = subprocess.Popen(
                [*alertd, "serve"], env=self._env, stdout=log, stderr=subprocess.STDOUT
            )

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def check_alive(self) -> None:
        if self._process is not None and self._process.poll() is not None:
            tail = self._log.read_text("utf-8", errors="replace")[-2000:]
            raise RuntimeError(f"the server exited ({self._process.returncode}):\n{tail}")

    def cpu_seconds(self) -> float:
        """utime + stime of the server and its waited-for children, from /proc/<pid>/stat."""
        assert self._process is not None
        stat = Path(f"/proc/{self._process.pid}/stat").read_text()
        fields = stat.rsplit(")", 1)[1].split()  # fields[11:15]: utime stime cutime cstime
        return sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")

    def cpu_by_thread(self) -> dict[str, tuple[float, float]]:
        """(user, system) CPU seconds of the event loop (the main thread) and of the other
        threads together (SQLite's writer and readers, the thread pool), from
        /proc/<pid>/task. Threads that ended are not counted."""
        assert self._process is not None
        per_name: dict[str, tuple[float, float]] = {}
        tick = os.sysconf("SC_CLK_TCK")
        for task in Path(f"/proc/{self._process.pid}/task").iterdir():
            try:
                stat = (task / "stat").read_text()
            except OSError:  # the thread ended meanwhile
                continue
            name = "event loop" if task.name == str(self._process.pid) else "other threads"
            fields = stat.rsplit(")", 1)[1].split()
            user, system = per_name.get(name, (0.0, 0.0))
            per_name[name] = (user + int(fields[11]) / tick, system + int(fields[12]) / tick)
        return per_name

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 10 s; then remove the data dir."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        shutil.rmtree(self.data_dir, ignore_errors=True)


class HttpPool:
    """Keep-alive HTTP/1.1 connections with just enough HTTP for alertd's JSON answers.

    Against this server httpx.AsyncClient cost 2.3 ms of client CPU per POST and these
    hand-written requests 0.22 ms; client and server share two cores.
    """

    def __init__(self, host: str, port: int) -> None:
        self._host = host
        self._port = port
        self._idle: asyncio.Queue[Connection] = asyncio.Queue()
        self.size = 0
        self.signed_in_as = ""  # an "Authorization: ..." header line, once signed in

    async def open(self, size: int) -> None:
        connect_all = (asyncio.open_connection(self._host, self._port) for _ in range(size))
        for connection in await asyncio.gather(*connect_all):
            self._idle.put_nowait(connection)
        self.size += size

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes = b"",
        headers: str = "",
        signed_in_as: str | None = None,
    ) -> tuple[int, bytes]:
        """One exchange: (status, body). Raises OSError or IncompleteReadError.
        `signed_in_as`: this request's Authorization line instead of the pool's."""
        who = self.signed_in_as if signed_in_as is None else signed_in_as
        message = (
            f"{method} {path} HTTP/1.1\r\nHost: {self._host}\r\nContent-Type: application/json"
            f"\r\nContent-Length: {len(body)}\r\n{who}{headers}\r\n"
        ).encode() + body
        reader, writer = await self._idle.get()
        try:
            try:
                return await self._exchange(reader, writer, message)
            except (asyncio.IncompleteReadError, ConnectionError):
                # The server closes keep-alive connections idle for 5 s: retry once on a new
                # one, which is safe because every alert carries an Idempotency-Key.
                writer.close()
                reader, writer = await asyncio.open_connection(self._host, self._port)
                return await self._exchange(reader, writer, message)
        finally:
            self._idle.put_nowait((reader, writer))

    @staticmethod
    async def _exchange(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, message: bytes
    ) -> tuple[int, bytes]:
        writer.write(message)
        head = await reader.readuntil(b"\r\n\r\n")
        length = _CONTENT_LENGTH.search(head)
        payload = await reader.readexactly(int(length.group(1)) if length else 0)
        return int(head[9:12]), payload

    def close(self) -> None:
        while not self._idle.empty():
            self._idle.get_nowait()[1].close()


class Console:
    """One dispatch console on /v1/stream: keeps (perf_counter, message) for every message."""

    def __init__(self, websocket: ClientConnection) -> None:
        self.websocket = websocket
        self.received: list[tuple[float, dict[str, Any]]] = []
        self._task = asyncio.create_task(self._receive())
        self._scanned = 0
        self._delivered: set[str] = set()

    @classmethod
    async def open(cls, ws_url: str, *, compression: str | None) -> Console:
        """Connect and wait for caught_up; the receive loop starts after it."""
        websocket = await connect(ws_url, compression=compression, max_size=None)
        while orjson.loads(await websocket.recv())["type"] != "caught_up":
            pass
        return cls(websocket)

    async def _receive(self) -> None:
        append, loads, clock = self.received.append, orjson.loads, time.perf_counter
        with contextlib.suppress(Exception):  # the connection closing ends the loop
            async for raw in self.websocket:
                append((clock(), loads(raw)))

    def has_all(self, alert_ids: set[str]) -> bool:
        """Whether every one of `alert_ids` has arrived (scans only new messages)."""
        for _at, message in self.received[self._scanned :]:
            if message.get("type") == "AlertRaised" and message.get("alert_id") in alert_ids:
                self._delivered.add(message["alert_id"])
        self._scanned = len(self.received)
        return len(self._delivered) >= len(alert_ids)

    async def close(self) -> None:
        await self.websocket.close()
        await self._task


@dataclass
class Sent:
    """One POST: when it was planned, started and answered, and what came back."""

    planned: float
    school_id: str = SCHOOL
    kind: str = "medical"
    drill: bool = True
    room_id: str | None = None
    signed_in_as: str | None = None  # None: the pool's account
    started: float = 0.0
    answered: float = 0.0
    status: int = 0
    payload: bytes = b""
    alert_id: str = ""


def sign_in(base: str, username: str, password: str) -> str:
    """A bearer token (POST /v1/auth/token), before the clock starts."""
    form = urlencode({"username": username, "password": password}).encode()
    with urlopen(Request(f"{base}/v1/auth/token", data=form), timeout=10) as answer:
        return str(orjson.loads(answer.read())["access_token"])


async def post_alert(pool: HttpPool, sent: Sent) -> None:
    fields = {"kind": sent.kind, "school_id": sent.school_id, "drill": sent.drill}
    body = orjson.dumps(fields | ({"room_id": sent.room_id} if sent.room_id else {}))
    sent.started = time.perf_counter()
    with contextlib.suppress(OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
        sent.status, sent.payload = await pool.request(
            "POST",
            "/v1/alerts",
            body=body,
            headers=f"Idempotency-Key: {uuid.uuid4()}\r\n",
            signed_in_as=sent.signed_in_as,
        )
    sent.answered = time.perf_counter()


def workload(plan: list[float], rooms: list[str], *, real_every: int, medical: bool) -> list[Sent]:
    """The presses of the run, in planned order: a flood at SCHOOL, one room after another,
    every `real_every`-th one real and the rest drills (real ones queue texts, as in life);
    with `medical`, one real medical alert at OTHER_SCHOOL planned halfway through."""
    sent = [
        Sent(at, room_id=rooms[i % len(rooms)], drill=not (real_every and i % real_every == 0))
        for i, at in enumerate(plan)
    ]
    if medical:
        halfway = plan[len(plan) // 2]
        sent.append(Sent(halfway, school_id=OTHER_SCHOOL, kind="medical", drill=False))
        sent.sort(key=lambda item: item.planned)
    return sent


async def fire(pool: HttpPool, sent: list[Sent]) -> list[Sent]:
    """Open loop: start each POST at its planned time, never waiting for earlier ones."""
    tasks = []
    for item in sent:
        if (delay := item.planned - time.perf_counter()) > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(post_alert(pool, item)))
    await asyncio.gather(*tasks)
    for item in sent:
        if item.status == 201:
            item.alert_id = orjson.loads(item.payload)["id"]
    return sent


def percentile_ms(ordered: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile of a sorted list of seconds, in ms (None when empty)."""
    if not ordered:
        return None
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
    return round(ordered[index] * 1000, 2)


def figures_of(sent: list[Sent], consoles: list[Console]) -> dict[str, Any]:
    """Sending, latency, loss, duplicates and order over every (alert, console) pair.

    Latency runs from each alert's planned send time, so a server that makes the sender
    wait is not excused (no coordinated omission). A POST that failed or was refused counts
    as lost at every console. With a distinct alert (`--medical`), its own figures too.
    """
    planned = {s.alert_id: s.planned for s in sent if s.alert_id}
    distinct = {s.alert_id for s in sent if s.alert_id and s.school_id != SCHOOL}
    latencies: list[float] = []
    distinct_latencies: list[float] = []
    lost = duplicates = out_of_order = worst_console = 0
    last_delivery = 0.0
    for console in consoles:
        seen: set[str] = set()
        previous, disorder = -1, 0
        for at, message in console.received:
            if message["type"] in ("caught_up", "heartbeat"):
                continue
            disorder += message["id"] <= previous
            previous = max(previous, message["id"])
            alert_id = message.get("alert_id", "")
            if message["type"] != "AlertRaised" or alert_id not in planned:
                continue
            if alert_id in seen:
                duplicates += 1
                continue
            seen.add(alert_id)
            latency = at - planned[alert_id]
            (distinct_latencies if alert_id in distinct else latencies).append(latency)
            last_delivery = max(last_delivery, at)
        lost += len(sent) - len(seen)  # a failed POST is lost at every console
        out_of_order += disorder
        worst_console = max(worst_console, disorder)
    latencies.sort()
    distinct_latencies.sort()
    answered = sorted(s.answered - s.planned for s in sent if s.status in (200, 201))
    first, last = min(s.started for s in sent), max(s.started for s in sent)
    begin = min(s.planned for s in sent)
    fully_delivered = round((last_delivery - begin) * 1000, 2) if latencies and not lost else None
    figures = {
        "alerts_sent": len(sent),
        "alerts_created": len(planned),
        "real_alerts": sum(not s.drill for s in sent),
        "http_errors": sum(s.status not in (200, 201) for s in sent),
        # status -> how many (0: no answer: the connection failed or was closed)
        "http_statuses": {
            str(code): sum(s.status == code for s in sent) for code in {s.status for s in sent}
        },
        "achieved_rate_per_s": round((len(sent) - 1) / (last - first), 1) if last > first else None,
        "send_lag_max_ms": round(max(s.started - s.planned for s in sent) * 1000, 2),
        "post_p50_ms": percentile_ms(answered, 0.50),
        "post_p99_ms": percentile_ms(answered, 0.99),
        "pairs_expected": len(sent) * len(consoles),
        "pairs_received": len(latencies) + len(distinct_latencies),
        "latency_p50_ms": percentile_ms(latencies, 0.50),
        "latency_p99_ms": percentile_ms(latencies, 0.99),
        "latency_max_ms": percentile_ms(latencies, 1.0),
        "lost": lost,
        "duplicates": duplicates,
        "out_of_order": out_of_order,
        "out_of_order_worst_console": worst_console,
        "fully_delivered_ms": fully_delivered,
        # Every message a console received per alert sent (notices such as who was texted
        # included): what the server wrote to each socket.
        "messages_per_alert": round(
            sum(len(c.received) for c in consoles) / max(1, len(consoles) * len(sent)), 2
        ),
    }
    if any(s.school_id != SCHOOL for s in sent):
        figures["distinct_max_ms"] = (
            percentile_ms(distinct_latencies, 1.0)
            if len(distinct_latencies) == len(consoles)
            else None
        )
    return figures


async def wait_ready(pool: HttpPool, server: ServerProcess | None) -> None:
    """Open the first connection and poll /readyz, for up to 30 s."""
    for _ in range(300):
        if server is not None:
            server.check_alive()
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            if not pool.size:
                await pool.open(1)
            if (await pool.request("GET", "/readyz"))[0] == 200:
                return
        await asyncio.sleep(0.1)
    raise RuntimeError("/readyz did not answer 200 within 30 s")


async def wait_for_delivery(consoles: list[Console], expected: set[str]) -> None:
    """Poll (so receive loops stay lean) until every console has every alert, or grace ends."""
    deadline = time.perf_counter() + GRACE_SECONDS
    while not all(console.has_all(expected) for console in consoles):
        if time.perf_counter() > deadline:
            return
        await asyncio.sleep(0.02)


async def wait_idle(server: ServerProcess, limit: float = 5.0) -> None:
    """Until the server uses < 2 % CPU (deferred work such as texts done), at most `limit` s."""
    before, deadline = server.cpu_seconds(), time.perf_counter() + limit
    while time.perf_counter() < deadline:
        await asyncio.sleep(0.25)
        if (now := server.cpu_seconds()) - before < 0.005:
            return
        before = now


def plan_of(options: argparse.Namespace) -> list[float]:
    """Planned send times (perf_counter), starting 50 ms from now."""
    begin = time.perf_counter() + 0.05
    if options.burst:
        step = options.burst_window_ms / 1000 / options.burst_alerts
        return [begin + i * step for i in range(options.burst_alerts)]
    return [begin + i / options.rate for i in range(round(options.rate * options.seconds))]


async def run(options: argparse.Namespace) -> dict[str, Any]:
    server = None
    if options.url is None:
        server = ServerProcess(synchronous=options.synchronous, database_url=options.database_url)
        server.start()
    base: str = f"http://127.0.0.1:{server.port}" if server else options.url
    where = urlsplit(base)
    pool = HttpPool(where.hostname or "127.0.0.1", where.port or 80)
    consoles: list[Console] = []
    cameras: subprocess.Popen[bytes] | None = None
    profiler: subprocess.Popen[bytes] | None = None
    try:
        await wait_ready(pool, server)
        if options.camera_viewers:
            cameras = await watch_cameras(base, options.camera_viewers)
        token = await asyncio.to_thread(sign_in, base, options.user, options.password)
        watcher = await asyncio.to_thread(sign_in, base, options.console_user, options.password)
        pool.signed_in_as = f"Authorization: Bearer {token}\r\n"
        tree = orjson.loads((await pool.request("GET", f"/v1/schools/{SCHOOL}"))[1])
        rooms = [r["id"] for b in tree["buildings"] for f in b["floors"] for r in f["rooms"]]
        ws_url = base.replace("http", "ws", 1).rstrip("/") + f"/v1/stream?access_token={watcher}"
        compression = None if options.no_compression else "deflate"
        connecting = (
            Console.open(ws_url, compression=compression) for _ in range(options.consoles)
        )
        consoles = list(await asyncio.gather(*connecting))
        await pool.open(options.connections - 1)
        await asyncio.sleep(0.5)  # let the server finish accepting before the clock starts

        profiler = start_profiler(server, options.profile) if options.profile else None
        sent = workload(
            plan_of(options), rooms, real_every=options.real_every, medical=options.medical
        )
        for item in sent:
            if item.school_id != SCHOOL:  # the flood's account may not raise there
                item.signed_in_as = f"Authorization: Bearer {watcher}\r\n"
        server_cpu, client_cpu = server.cpu_seconds() if server else 0.0, time.process_time()
        threads_before = server.cpu_by_thread() if server else {}
        gc.disable()  # a full collection over the kept messages would stall the client's loop
        try:
            await fire(pool, sent)
            await wait_for_delivery(consoles, {s.alert_id for s in sent if s.alert_id})
        finally:
            gc.enable()
        figures = figures_of(sent, consoles)
        per_alert = 1000 / max(1, figures["alerts_created"])  # seconds -> ms per alert
        figures["client_cpu_ms_per_alert"] = round(
            (time.process_time() - client_cpu) * per_alert, 2
        )
        if server is not None:
            await wait_idle(server)  # the texts of a burst are sent after its deliveries
            figures["server_cpu_ms_per_alert"] = round(
                (server.cpu_seconds() - server_cpu) * per_alert, 2
            )
            figures["server_cpu_ms_per_alert_by_thread"] = cpu_spent(
                threads_before, server.cpu_by_thread(), per_alert
            )
        if profiler is not None:
            stop_profiler(profiler)
        if cameras is not None:
            figures["camera_viewers"] = options.camera_viewers
            figures["camera_frames"] = stop_watching(cameras)
            cameras = None
        return figures
    finally:
        if profiler is not None and profiler.poll() is None:
            profiler.kill()
        if cameras is not None:
            stop_watching(cameras)
        await asyncio.gather(*(console.close() for console in consoles), return_exceptions=True)
        pool.close()
        if server is not None:
            server.stop()


def cpu_spent(
    before: dict[str, tuple[float, float]], after: dict[str, tuple[float, float]], scale: float
) -> dict[str, dict[str, float]]:
    """Per thread name: user and system CPU between the two readings, times `scale`."""
    spent: dict[str, dict[str, float]] = {}
    for name, (user, system) in after.items():
        user0, system0 = before.get(name, (0.0, 0.0))
        if (user - user0) + (system - system0) > 0:
            spent[name] = {
                "user": round((user - user0) * scale, 2),
                "system": round((system - system0) * scale, 2),
            }
    return spent


def start_profiler(server: ServerProcess | None, output: str) -> subprocess.Popen[bytes]:
    """py-spy sampling the server (without pausing it) from now until `stop_profiler`;
    collapsed stacks in `output` (summarize with `python -m bench.profile_summary`)."""
    if server is None:
        raise SystemExit("--profile needs a spawned server (not --url)")
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    command = [
        spy,
        "record",
        "--pid",
        str(server.pid),
        "--format",
        "raw",
        "--rate",
        "1000",
        "--gil",
    ]
    process = subprocess.Popen(
        [*command, "--nonblocking", "--output", output],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.0)  # py-spy attaches before the clock starts
    return process


def stop_profiler(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()


async def watch_cameras(base: str, count: int) -> subprocess.Popen[bytes]:
    """`count` WHEP viewers of the demo's camera, in a process of their own, all receiving
    video before this returns (a camera must not slow the alert path)."""
    process = subprocess.Popen(  # noqa: ASYNC220 (before the clock starts)
        [sys.executable, "-m", "bench.camera_viewers", base, str(count)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert process.stdout is not None
    line = await asyncio.wait_for(asyncio.to_thread(process.stdout.readline), 60)
    if not line.startswith(b"watching"):
        process.kill()
        raise RuntimeError(f"the camera viewers did not start: {line!r}")
    return process


def stop_watching(process: subprocess.Popen[bytes]) -> int:
    """Close the viewers; how many frames they received in all (0 if unknown)."""
    try:
        out, _ = process.communicate(input=b"", timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        return 0
    found = re.search(rb"frames (\d+)", out)
    return int(found.group(1)) if found else 0


def targets(
    options: argparse.Namespace, figures: dict[str, Any], peer: dict[str, Any] | None
) -> dict[str, bool]:
    """Each target (issue 13) with whether it was met; a missing figure counts as missed.
    The latency targets are ratios to the peer's figures in the same run."""

    def at_most(key: str, limit: float) -> bool:
        return figures.get(key) is not None and figures[key] <= limit

    def ratio_at_most(key: str, limit: float) -> bool:
        ratio = ratio_of(figures, peer, key)
        return ratio is not None and ratio <= limit

    met = {"zero loss": figures["lost"] == 0 and figures["pairs_received"] > 0}
    if options.burst:
        met["all delivered <= 1000 ms"] = at_most("fully_delivered_ms", 1000)
    else:
        met["server CPU <= 5 ms/alert"] = at_most("server_cpu_ms_per_alert", 5)
        if peer is not None:
            met["p50 <= 2x peer"] = ratio_at_most("latency_p50_ms", 2.0)
            met["p99 <= 2.5x peer"] = ratio_at_most("latency_p99_ms", 2.5)
    if options.medical:
        met["distinct alert at every console <= 250 ms"] = at_most("distinct_max_ms", 250)
    return met


def ratio_of(figures: dict[str, Any], peer: dict[str, Any] | None, key: str) -> float | None:
    if peer is None or not figures.get(key) or not peer.get(key):
        return None
    return round(float(figures[key]) / float(peer[key]), 2)


RATIO_KEYS = (
    "latency_p50_ms",
    "latency_p99_ms",
    "latency_max_ms",
    "fully_delivered_ms",
    "distinct_max_ms",
    "post_p50_ms",
    "server_cpu_ms_per_alert",
)


def peer_lines(figures: dict[str, Any], peer: dict[str, Any]) -> list[str]:
    lines = [
        "Mosquitto over WebSockets, same workload, same run:",
        f"  publish       {peer['alerts_created']}/{peer['alerts_sent']} acknowledged, "
        f"PUBACK p50 {peer['post_p50_ms']} ms p99 {peer['post_p99_ms']} ms",
        f"  press→console p50 {peer['latency_p50_ms']} ms, p99 {peer['latency_p99_ms']} ms, "
        f"max {peer['latency_max_ms']} ms; lost {peer['lost']}; all delivered in "
        f"{peer['fully_delivered_ms']} ms"
        + (
            f"; distinct alert max {peer['distinct_max_ms']} ms"
            if "distinct_max_ms" in peer
            else ""
        ),
        f"  broker CPU    {peer['server_cpu_ms_per_alert']} ms/alert",
        "ratios alertd / Mosquitto: "
        + ", ".join(
            f"{key.removesuffix('_ms')} {ratio_of(figures, peer, key)}x"
            for key in RATIO_KEYS
            if key in figures and key in peer
        ),
    ]
    return lines


def report(
    options: argparse.Namespace, figures: dict[str, Any], peer: dict[str, Any] | None = None
) -> None:
    f, mode = figures, "burst" if options.burst else "steady"
    load = (
        f"{options.burst_alerts} alerts within {options.burst_window_ms:g} ms"
        if options.burst
        else f"{options.rate:g} alerts/s for {options.seconds:g} s"
    )
    sqlite = f"sqlite, synchronous={options.synchronous}"
    server = options.url or f"spawned, {options.database_url.split(':')[0] or sqlite}"
    cpu = "not measured: a --url server is not a child process of the benchmark"
    if "server_cpu_ms_per_alert" in f:
        cpu = f"{f['server_cpu_ms_per_alert']} ms/alert, until idle (texts sent); alertd only"
    lines = [
        f"alertd fan-out, {mode}: {load} to {options.consoles} consoles ({server})",
        f"  POST          {f['alerts_created']}/{f['alerts_sent']} created, "
        f"{f['http_errors']} HTTP errors, {f['achieved_rate_per_s']}/s achieved, send lag max "
        f"{f['send_lag_max_ms']} ms, answered p50 {f['post_p50_ms']} ms p99 {f['post_p99_ms']} ms",
        f"  press→console p50 {f['latency_p50_ms']} ms, p99 {f['latency_p99_ms']} ms, "
        f"max {f['latency_max_ms']} ms over {f['pairs_received']}/{f['pairs_expected']} pairs",
        f"  delivery      lost {f['lost']}, duplicates {f['duplicates']}, out-of-order "
        f"{f['out_of_order']} (worst console {f['out_of_order_worst_console']})"
        + (f", fully delivered in {f['fully_delivered_ms']} ms" if options.burst else "")
        + (
            f"; distinct alert at every console within {f.get('distinct_max_ms')} ms"
            if options.medical
            else ""
        ),
        f"  server CPU    {cpu}",
        *(
            f"    {name:<18} user {spent['user']} ms, system {spent['system']} ms"
            for name, spent in f.get("server_cpu_ms_per_alert_by_thread", {}).items()
        ),
        f"  client CPU    {f['client_cpu_ms_per_alert']} ms/alert (shares the cores)",
    ]
    if options.camera_viewers:
        lines.append(
            f"  cameras       {options.camera_viewers} WHEP viewers watched the demo camera "
            f"meanwhile ({f.get('camera_frames', 0)} frames received)"
        )
    if peer is not None:
        lines.extend(peer_lines(figures, peer))
    met = targets(options, figures, peer)
    lines.append(
        "  targets       " + "; ".join(f"{k}: {'met' if v else 'MISSED'}" for k, v in met.items())
    )
    print("\n".join(lines))
    database = options.url or options.database_url.split("@")[-1] or sqlite
    settings = {"mode": mode, "consoles": options.consoles, "server": database}
    ratios = {f"ratio_{k}": ratio_of(figures, peer, k) for k in RATIO_KEYS} if peer else {}
    extra = {"peer": peer, **ratios} if peer else {}
    print(orjson.dumps(settings | figures | extra | {"targets_met": met}).decode())


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.fanout", description=__doc__)
    parser.add_argument("--burst", action="store_true", help="burst mode instead of steady")
    parser.add_argument("--consoles", type=int, help="stream clients (50 steady, 20 burst)")
    parser.add_argument("--rate", type=float, default=20.0, help="steady: alerts per second")
    parser.add_argument("--seconds", type=float, default=10.0, help="steady: how long")
    parser.add_argument("--burst-alerts", type=int, default=500)
    parser.add_argument("--burst-window-ms", type=float, default=100.0)
    parser.add_argument("--connections", type=int, help="HTTP connections (8; burst: one/alert)")
    parser.add_argument("--url", help="use this running server, e.g. http://127.0.0.1:8000")
    parser.add_argument("--database-url", default="", help="ALERTD_DATABASE_URL for the server")
    parser.add_argument(
        "--user", default="drill_coordinator@demo.alertd", help="who raises the drills"
    )
    parser.add_argument(
        "--console-user",
        default="dispatcher@demo.alertd",
        help="whom the consoles sign in as (sees both demo schools); raises the --medical alert",
    )
    parser.add_argument("--password", default="demo")
    parser.add_argument(
        "--real-every", type=int, default=5, help="every n-th press is real, the rest drills"
    )
    parser.add_argument(
        "--medical",
        action="store_true",
        help="one real medical alert at jefferson-es halfway through (the distinct alert)",
    )
    parser.add_argument(
        "--profile", metavar="PATH", help="py-spy the server while sending; stacks into PATH"
    )
    parser.add_argument(
        "--peer",
        choices=("none", "mosquitto"),
        default="none",
        help="also run the workload against Mosquitto over WebSockets and print the ratios",
    )
    parser.add_argument("--synchronous", default="FULL", choices=("FULL", "NORMAL", "EXTRA"))
    parser.add_argument("--no-compression", action="store_true", help="no permessage-deflate")
    parser.add_argument(
        "--camera-viewers", type=int, default=0, help="WHEP viewers watching a camera meanwhile"
    )
    options = parser.parse_args(argv)
    options.consoles = options.consoles or (20 if options.burst else 50)
    default_connections = options.burst_alerts if options.burst else 8
    options.connections = max(1, options.connections or default_connections)
    return options


async def run_with_peer(
    options: argparse.Namespace,
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """alertd, then (with --peer mosquitto) the same workload on Mosquitto, in this run."""
    figures = await run(options)
    if options.peer != "mosquitto":
        return figures, None
    from bench.mosquitto_peer import run_mosquitto

    return figures, await run_mosquitto(options)


def main(argv: list[str] | None = None) -> int:
    options = parse(argv)
    figures, peer = uvloop.run(run_with_peer(options))
    report(options, figures, peer)
    return 0


if __name__ == "__main__":
    sys.exit(main())
