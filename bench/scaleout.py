"""The fan-out workload against 1 and 2 (or more) instances on PostgreSQL and Redis.

    python -m bench.scaleout                       # 20 alerts/s for 10 s, 50 consoles, 1 and 2
    python -m bench.scaleout --rate 500 --seconds 5 --consoles 10
    python -m bench.scaleout --instances 2 --database-url postgresql://... --redis-url redis://...

For each instance count it starts that many `alertd serve` processes (fresh database, fresh
key prefix) on one PostgreSQL and one Redis, spreads the consoles over them round-robin and
sends the POSTs round-robin, open loop, as `bench.fanout` does. Without --database-url or
--redis-url it starts a throwaway PostgreSQL / redis-server from Debian's binaries. Server
CPU is the sum over the alertd processes (PostgreSQL and Redis not included). It prints one
block and one JSON line per instance count; it asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import itertools
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
import uvloop

from bench.fanout import (
    SCHOOL,
    Console,
    HttpPool,
    ServerProcess,
    figures_of,
    fire,
    plan_of,
    sign_in,
    wait_for_delivery,
    wait_ready,
    workload,
)


class RoundRobin:
    """HTTP pools of several instances behind one `request`, taking turns (a load balancer)."""

    def __init__(self, pools: list[HttpPool]) -> None:
        self._pools = pools
        self._turn = itertools.cycle(pools)

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes = b"",
        headers: str = "",
        signed_in_as: str | None = None,
    ) -> tuple[int, bytes]:
        return await next(self._turn).request(
            method, path, body=body, headers=headers, signed_in_as=signed_in_as
        )


@contextmanager
def backing_servers(options: argparse.Namespace) -> Iterator[tuple[str, str]]:
    """(PostgreSQL server URL, Redis URL): the given ones, or throwaway ones."""
    from alertd.testing.redis_server import PrivateRedis
    from alertd.testing.servers import PrivatePostgres

    with contextlib.ExitStack() as stack:
        postgres, redis = options.database_url, options.redis_url
        if not postgres:
            server = PrivatePostgres()
            server.start()
            stack.callback(server.remove)
            postgres = server.url
        if not redis:
            private = PrivateRedis()
            private.start()
            stack.callback(private.remove)
            redis = private.url
        yield postgres, redis


@contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    from alertd.testing.servers import fresh_database as fresh

    with fresh(server_url) as url:
        yield url


async def wait_idle(servers: list[ServerProcess], limit: float = 5.0) -> None:
    """Until the instances together use < 2 % CPU, at most `limit` s."""
    before, deadline = sum(s.cpu_seconds() for s in servers), time.perf_counter() + limit
    while time.perf_counter() < deadline:
        await asyncio.sleep(0.25)
        now = sum(s.cpu_seconds() for s in servers)
        if now - before < 0.005 * len(servers):
            return
        before = now


async def run(
    options: argparse.Namespace, count: int, database_url: str, redis_url: str
) -> dict[str, Any]:
    extra = {"REDIS_URL": redis_url, "REDIS_PREFIX": f"bench-{uuid.uuid4().hex[:8]}:"}
    servers = [
        ServerProcess(synchronous="FULL", database_url=database_url, extra=extra)
        for _ in range(count)
    ]
    servers[0].start()  # migrates the database first
    for server in servers[1:]:
        server.start()
    pools = [HttpPool("127.0.0.1", s.port) for s in servers]
    consoles: list[Console] = []
    try:
        for pool, server in zip(pools, servers, strict=True):
            await wait_ready(pool, server)
        base = f"http://127.0.0.1:{servers[0].port}"
        token = await asyncio.to_thread(sign_in, base, options.user, options.password)
        for pool in pools:
            pool.signed_in_as = f"Authorization: Bearer {token}\r\n"
        tree = orjson.loads((await pools[0].request("GET", f"/v1/schools/{SCHOOL}"))[1])
        rooms = [r["id"] for b in tree["buildings"] for f in b["floors"] for r in f["rooms"]]
        urls = [f"ws://127.0.0.1:{s.port}/v1/stream?access_token={token}" for s in servers]
        consoles = list(
            await asyncio.gather(
                *(Console.open(urls[n % count], compression=None) for n in range(options.consoles))
            )
        )
        for pool in pools:
            await pool.open(max(1, options.connections // count) - 1)
        await asyncio.sleep(0.5)

        sent = workload(plan_of(options), rooms, real_every=options.real_every, medical=False)
        server_cpu = sum(s.cpu_seconds() for s in servers)
        client_cpu = time.process_time()
        gc.disable()
        try:
            await fire(RoundRobin(pools), sent)  # type: ignore[arg-type]
            await wait_for_delivery(consoles, {s.alert_id for s in sent if s.alert_id})
        finally:
            gc.enable()
        figures = figures_of(sent, consoles)
        per_alert = 1000 / max(1, figures["alerts_created"])
        figures["client_cpu_ms_per_alert"] = round(
            (time.process_time() - client_cpu) * per_alert, 2
        )
        await wait_idle(servers)
        cpu = sum(s.cpu_seconds() for s in servers) - server_cpu
        figures["server_cpu_ms_per_alert"] = round(cpu * per_alert, 2)
        return figures
    finally:
        await asyncio.gather(*(c.close() for c in consoles), return_exceptions=True)
        for pool in pools:
            pool.close()
        for server in servers:
            server.stop()


def report(options: argparse.Namespace, count: int, f: dict[str, Any]) -> None:
    load = (
        f"{options.burst_alerts} alerts within {options.burst_window_ms:g} ms"
        if options.burst
        else f"{options.rate:g} alerts/s for {options.seconds:g} s"
    )
    print(
        "\n".join(
            [
                f"alertd scale-out: {load} to {options.consoles} consoles over {count} "
                "instance(s) (PostgreSQL + Redis Streams)",
                f"  POST          {f['alerts_created']}/{f['alerts_sent']} created, "
                f"{f['http_errors']} HTTP errors {f['http_statuses']}, "
                f"{f['achieved_rate_per_s']}/s achieved, "
                f"answered p50 {f['post_p50_ms']} ms p99 {f['post_p99_ms']} ms",
                f"  press→console p50 {f['latency_p50_ms']} ms, p99 {f['latency_p99_ms']} ms, "
                f"max {f['latency_max_ms']} ms over {f['pairs_received']}/{f['pairs_expected']}",
                f"  delivery      lost {f['lost']}, duplicates {f['duplicates']}, out-of-order "
                f"{f['out_of_order']}; all delivered in {f['fully_delivered_ms']} ms",
                f"  CPU           alertd {f['server_cpu_ms_per_alert']} ms/alert (all "
                f"instances, until idle), client {f['client_cpu_ms_per_alert']} ms/alert",
            ]
        )
    )
    settings = {"instances": count, "rate": options.rate, "consoles": options.consoles}
    print(orjson.dumps(settings | f).decode(), flush=True)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.scaleout", description=__doc__)
    parser.add_argument("--instances", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--consoles", type=int, default=50)
    parser.add_argument("--rate", type=float, default=20.0, help="alerts per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--connections", type=int, help="HTTP connections in all (16; burst: one per alert)"
    )
    parser.add_argument("--database-url", default="", help="a PostgreSQL server to use")
    parser.add_argument("--redis-url", default="", help="a Redis server to use")
    parser.add_argument("--burst", action="store_true", help="a burst instead of a rate")
    parser.add_argument("--burst-alerts", type=int, default=500)
    parser.add_argument("--burst-window-ms", type=float, default=100.0)
    parser.add_argument(
        "--real-every", type=int, default=5, help="every n-th press is real, the rest drills"
    )
    parser.add_argument("--user", default="drill_coordinator@demo.alertd")
    parser.add_argument("--password", default="demo")
    options = parser.parse_args(argv)
    if options.connections is None:
        options.connections = options.burst_alerts if options.burst else 16
    if options.burst and options.consoles == 50:
        options.consoles = 20  # the burst's workload, as bench.fanout's
    return options


def main(argv: list[str] | None = None) -> int:
    options = parse(argv)
    with backing_servers(options) as (postgres, redis):
        for count in options.instances:
            with fresh_database(postgres) as database_url:
                report(options, count, uvloop.run(run(options, count, database_url, redis)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
