"""Connection scale: thousands of stream clients on one instance, then campus-wide lockdowns.

    python -m bench.connections                       # 5,000 consoles, 3 lockdowns
    python -m bench.connections --clients 1000 --lockdowns 5

Starts `alertd serve` (SQLite, demo district; `alertd serve` raises its own open-file limit,
see alertd/adapters/file_limit.py), opens `--clients` /v1/stream connections as the demo
dispatcher, spread over `--processes` client processes (each raises its own open-file
limit), and waits until every one has had its `caught_up`. Memory per idle connection is
the server's resident memory (VmRSS) after they connected and settled, minus before, over
the clients. Then it raises `--lockdowns` campus-wide lockdowns at Lincoln High (drills, by
the demo drill coordinator),
`--gap` seconds apart, and times every console's AlertRaised from the lockdown's planned
send time (time.monotonic, shared by the processes). A console that has not received a
lockdown 10 s after the last POST counts it as lost. It prints figures and a JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import orjson
import uvloop
from websockets.asyncio.client import ClientConnection, connect

from bench.fanout import HttpPool, ServerProcess, percentile_ms, sign_in, wait_ready

GRACE_SECONDS = 10.0
CONNECT_AT_ONCE = 100


def raise_own_file_limit() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def hold(url: str, count: int) -> None:
    """Client process: `count` consoles; 'ready N' once all caught up; on stdin EOF, one
    JSON line: {alert_id: [monotonic receive times]}."""
    raise_own_file_limit()
    received: dict[str, list[float]] = {}

    async def console() -> ClientConnection:
        websocket = await connect(url, compression=None, max_size=None, open_timeout=120)
        while orjson.loads(await websocket.recv())["type"] != "caught_up":
            pass
        return websocket

    async def listen(websocket: ClientConnection) -> None:
        clock = time.monotonic
        with contextlib.suppress(Exception):
            async for raw in websocket:
                at = clock()
                message = orjson.loads(raw)
                if message["type"] == "AlertRaised":
                    received.setdefault(message["alert_id"], []).append(at)

    sockets: list[ClientConnection] = []
    for start in range(0, count, CONNECT_AT_ONCE):
        batch = min(CONNECT_AT_ONCE, count - start)
        sockets += await asyncio.gather(*(console() for _ in range(batch)))
    listeners = [asyncio.create_task(listen(ws)) for ws in sockets]
    print(f"ready {len(sockets)}", flush=True)
    await asyncio.to_thread(sys.stdin.read)  # until the parent closes our stdin
    print(orjson.dumps(received).decode(), flush=True)
    for websocket in sockets:
        websocket.transport.abort()
    for task in listeners:
        task.cancel()


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def run(options: argparse.Namespace) -> dict[str, Any]:
    server = ServerProcess(
        synchronous="FULL",
        database_url=options.database_url,
        extra={"STREAM_HEARTBEAT_SECONDS": "15"},
    )
    server.start()
    pool = HttpPool("127.0.0.1", server.port)
    holders: list[subprocess.Popen[bytes]] = []
    try:
        await wait_ready(pool, server)
        base = f"http://127.0.0.1:{server.port}"
        token = await asyncio.to_thread(sign_in, base, options.user, options.password)
        raiser = await asyncio.to_thread(sign_in, base, options.raiser, options.password)
        pool.signed_in_as = f"Authorization: Bearer {raiser}\r\n"
        await pool.open(options.lockdowns)
        await asyncio.sleep(1.0)
        before = rss_kib(server.pid)
        ws_url = f"ws://127.0.0.1:{server.port}/v1/stream?access_token={token}"
        shares = [options.clients // options.processes] * options.processes
        shares[0] += options.clients - sum(shares)
        for share in shares:
            holders.append(
                subprocess.Popen(  # noqa: ASYNC220 (before the clock starts)
                    [sys.executable, "-m", "bench.connections", "--hold", ws_url, str(share)],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                )
            )
        connected = 0
        started = time.monotonic()
        for holder in holders:
            assert holder.stdout is not None
            line = await asyncio.to_thread(holder.stdout.readline)
            if not line.startswith(b"ready"):
                raise RuntimeError(f"a client process failed: {line!r}")
            connected += int(line.split()[1])
        connect_seconds = time.monotonic() - started
        await asyncio.sleep(3.0)  # settle: every handshake and first read done
        after = rss_kib(server.pid)
        idle_cpu = server.cpu_seconds()
        await asyncio.sleep(2.0)
        idle_cpu_per_s = (server.cpu_seconds() - idle_cpu) / 2.0

        planned: dict[str, float] = {}
        begin = time.monotonic() + 0.1
        for n in range(options.lockdowns):
            at = begin + n * options.gap
            if (delay := at - time.monotonic()) > 0:
                await asyncio.sleep(delay)
            body = orjson.dumps({"kind": "lockdown", "school_id": "lincoln-hs", "drill": True})
            status, payload = await pool.request(
                "POST", "/v1/alerts", body=body, headers=f"Idempotency-Key: {uuid.uuid4()}\r\n"
            )
            if status != 201:
                raise RuntimeError(f"the lockdown was refused: {status} {payload!r}")
            planned[orjson.loads(payload)["id"]] = at
        await asyncio.sleep(GRACE_SECONDS)
        received: dict[str, list[float]] = {}
        for holder in holders:
            out, _ = await asyncio.to_thread(holder.communicate, b"", 60)
            for alert_id, times in orjson.loads(out.splitlines()[-1]).items():
                received.setdefault(alert_id, []).extend(times)
        latencies = sorted(
            at - planned[alert_id]
            for alert_id, times in received.items()
            if alert_id in planned
            for at in times
        )
        expected = options.lockdowns * connected
        return {
            "clients": connected,
            "connect_seconds": round(connect_seconds, 1),
            "server_rss_before_mib": round(before / 1024, 1),
            "server_rss_after_mib": round(after / 1024, 1),
            "kib_per_idle_connection": round((after - before) / max(1, connected), 1),
            "idle_server_cpu_percent": round(100 * idle_cpu_per_s, 1),
            "lockdowns": options.lockdowns,
            "lockdowns_created": len(planned),
            "deliveries_expected": expected,
            "deliveries_received": len(latencies),
            "lost": expected - len(latencies),
            "latency_p50_ms": percentile_ms(latencies, 0.50),
            "latency_p99_ms": percentile_ms(latencies, 0.99),
            "latency_max_ms": percentile_ms(latencies, 1.0),
        }
    finally:
        for holder in holders:
            if holder.poll() is None:
                holder.kill()
        pool.close()
        server.stop()


def report(figures: dict[str, Any]) -> None:
    f = figures
    print(
        "\n".join(
            [
                f"alertd connection scale: {f['clients']} stream clients on one instance "
                f"(connected in {f['connect_seconds']} s)",
                f"  memory        {f['kib_per_idle_connection']} KiB per idle connection "
                f"(RSS {f['server_rss_before_mib']} -> {f['server_rss_after_mib']} MiB)",
                f"  idle CPU      {f['idle_server_cpu_percent']} % of a core (heartbeats)",
                f"  lockdowns     {f['lockdowns_created']}/{f['lockdowns']} raised; "
                f"{f['deliveries_received']}/{f['deliveries_expected']} deliveries, "
                f"lost {f['lost']}",
                f"  press→console p50 {f['latency_p50_ms']} ms, p99 {f['latency_p99_ms']} ms, "
                f"max {f['latency_max_ms']} ms",
                "  targets       "
                + "; ".join(
                    [
                        "p99 <= 1000 ms: "
                        + ("met" if (f["latency_p99_ms"] or 1e9) <= 1000 else "MISSED"),
                        "<= 50 KB per idle connection: "
                        + ("met" if f["kib_per_idle_connection"] <= 50 * 1000 / 1024 else "MISSED"),
                        "zero loss: " + ("met" if f["lost"] == 0 else "MISSED"),
                    ]
                ),
            ]
        )
    )
    print(orjson.dumps(figures).decode())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.connections", description=__doc__)
    parser.add_argument("--clients", type=int, default=5000)
    parser.add_argument("--processes", type=int, default=2, help="client processes")
    parser.add_argument("--lockdowns", type=int, default=3)
    parser.add_argument("--gap", type=float, default=3.0, help="seconds between lockdowns")
    parser.add_argument("--database-url", default="")
    parser.add_argument("--user", default="dispatcher@demo.alertd", help="the consoles")
    parser.add_argument("--raiser", default="drill_coordinator@demo.alertd")
    parser.add_argument("--password", default="demo")
    parser.add_argument("--hold", nargs=2, metavar=("URL", "COUNT"), help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.hold:
        uvloop.run(hold(options.hold[0], int(options.hold[1])))
        return 0
    report(uvloop.run(run(options)))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
