"""Several `alertd serve` processes on one PostgreSQL and one Redis: every console sees every
event once, in order, whichever instance it is on, and nothing is lost when a part dies.

Real processes, real servers: PostgreSQL and Redis are started by the tests from Debian's
binaries (one of each per test worker, kept apart by fresh databases and key prefixes), and
the tests that break Redis start a Redis of their own.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from alertd.testing.auth import headers_for
from alertd.testing.console import Console
from alertd.testing.demo_rooms import room_for
from alertd.testing.redis_server import PrivateRedis

if TYPE_CHECKING:
    from conftest import AlertdProcess, AlertdProcesses

# Each test starts two or three alertd processes; on a busy 2-core machine that takes a while.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

# Fast failure detection, so that the tests take seconds, not the defaults' minutes.
QUICK = {
    "ALERTD_HEARTBEAT_SECONDS": "0.5",
    "ALERTD_INSTANCE_TIMEOUT_SECONDS": "2",
    "ALERTD_OUTBOX_POLL_SECONDS": "0.5",
    "ALERTD_REPEAT_PRESS_SECONDS": "0",  # one account raises every alert here
}
# A drill lockdown at Lincoln High texts its two SROs and its principal (never an agency).
LINCOLN_DRILL_TEXTS = 3


class Cluster:
    """alertd instances sharing one database and one Redis stream."""

    def __init__(
        self, processes: AlertdProcesses, root: Path, database_url: str, redis_url: str,
        prefix: str,
    ) -> None:  # fmt: skip
        self._processes = processes
        self._root = root
        self._env = QUICK | {"ALERTD_REDIS_URL": redis_url, "ALERTD_REDIS_PREFIX": prefix}
        self._database_url = database_url
        self.instances: list[AlertdProcess] = []

    async def start(self, count: int, **extra_env: str) -> list[AlertdProcess]:
        """Start `count` more instances side by side; return once each answers /readyz."""
        dirs = []
        for _ in range(count):
            dirs.append(self._root / f"instance-{len(self.instances) + len(dirs) + 1}")
            dirs[-1].mkdir()
        env = self._env | extra_env
        started = await asyncio.gather(
            *(self._processes.start(d, database_url=self._database_url, **env) for d in dirs)
        )
        self.instances.extend(started)
        return list(started)


@pytest.fixture
async def cluster(
    alertd_processes: AlertdProcesses,
    tmp_path: Path,
    pg_database: str,
    redis_url: str,
    redis_prefix: str,
) -> AsyncIterator[Cluster]:
    yield Cluster(alertd_processes, tmp_path, pg_database, redis_url, redis_prefix)
    alertd_processes.kill_all()  # before their database is dropped


def url_for(server: AlertdProcess) -> Callable[[int], Any]:
    async def make(since: int) -> str:
        return await server.stream_url(since)

    return make


async def watch(consoles_per_instance: int, servers: list[AlertdProcess]) -> list[Console]:
    consoles = []
    for server, n in itertools.product(servers, range(consoles_per_instance)):
        console = Console(f"{server.url}#{n}")
        await console.connect(url_for(server), since=0)
        consoles.append(console)
    return consoles


async def the_whole_log(server: AlertdProcess) -> list[int]:
    """Every event id of the log, as a console replaying from 0 receives them."""
    reader = Console("replay")
    await reader.connect(url_for(server), since=0)
    await reader.disconnect()
    return reader.ids()


async def raise_drill(client: httpx.AsyncClient, key: str, room: str) -> httpx.Response:
    body = {"kind": "lockdown", "school_id": "lincoln-hs", "room_id": room, "drill": True}
    return await client.post("/v1/alerts", json=body, headers={"Idempotency-Key": key})


class Writers:
    """Staff raising drills round-robin over instances, as through a load balancer: a
    request that gets no answer (refused, timed out) or a 5xx is retried with the same
    Idempotency-Key on the next instance, and an instance that did not answer is taken out
    of the rotation (nginx's max_fails=1)."""

    def __init__(self, servers: list[AlertdProcess]) -> None:
        self.servers = servers
        self.accepted: dict[str, str] = {}  # Idempotency-Key -> alert id (2xx answers)
        self.down: set[str] = set()
        self._clients: dict[str, httpx.AsyncClient] = {}
        self._turn = itertools.count()

    async def __aenter__(self) -> Writers:
        for server in self.servers:
            client = httpx.AsyncClient(base_url=server.url, timeout=5)
            client.headers.update(await headers_for(client, "district_admin"))
            self._clients[server.url] = client
        return self

    async def __aexit__(self, *_exc: object) -> None:
        for client in self._clients.values():
            await client.aclose()

    async def raise_one(self, n: int) -> None:
        key = f"press-{n}"
        async with asyncio.timeout(60):
            while True:
                server = self.servers[next(self._turn) % len(self.servers)]
                if server.url in self.down:
                    continue
                try:
                    answer = await raise_drill(
                        self._clients[server.url], key, room_for("lincoln-hs", n)
                    )
                except httpx.TransportError:
                    self.down.add(server.url)
                    continue
                if answer.status_code >= 500:
                    await asyncio.sleep(float(answer.headers.get("Retry-After", "0.2")))
                    continue
                assert answer.status_code in (200, 201), answer.text
                self.accepted[key] = answer.json()["id"]
                return

    async def raise_many(self, numbers: range, *, gap: float = 0.02) -> None:
        for n in numbers:
            await self.raise_one(n)
            await asyncio.sleep(gap)


async def each_got_every_event_once_in_order(
    consoles: list[Console], raised: set[str], server: AlertdProcess
) -> None:
    """Wait until every console has every alert raised and the whole log as it stands, then
    check that each received exactly the log: every event, once, in order."""
    await each_got(consoles, raised)
    log = await the_whole_log(server)
    for console in consoles:
        await console.wait_until(lambda c: c.last_id >= log[-1])
    log = await the_whole_log(server)
    for console in consoles:
        ids = console.ids()
        assert ids == log[: len(ids)], f"console {console.name}: not the log, once, in order"
        assert sorted(console.raised()) == sorted(raised)


async def each_got(consoles: list[Console], raised: set[str]) -> None:
    for console in consoles:
        await console.wait_until(lambda c: set(c.raised()) >= raised)


async def test_three_instances_every_console_gets_every_event_once_in_order(
    cluster: Cluster,
) -> None:
    servers = await cluster.start(3)
    consoles = await watch(2, servers)

    async with Writers(servers) as writers:
        await asyncio.gather(*(writers.raise_many(range(w, 30, 3)) for w in range(3)))
    raised = set(writers.accepted.values())
    assert len(raised) == 30

    await each_got_every_event_once_in_order(consoles, raised, servers[0])
    assert all(console.closes == [] for console in consoles)


async def deliveries_done(server: AlertdProcess, alert_ids: set[str], *, seconds: float) -> None:
    """Wait until every text about these alerts has been handed to a gateway (recorded)."""
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        client.headers.update(await headers_for(client, "district_admin"))
        states: dict[str, list[str]] = {}
        try:
            async with asyncio.timeout(seconds):
                while True:
                    for alert_id in alert_ids:
                        detail = (await client.get(f"/v1/alerts/{alert_id}")).json()
                        states[alert_id] = [d["state"] for d in detail["deliveries"]]
                    if all(s == ["recorded"] * LINCOLN_DRILL_TEXTS for s in states.values()):
                        return
                    await asyncio.sleep(0.2)
        except TimeoutError:
            stuck = {a: s for a, s in states.items() if s != ["recorded"] * LINCOLN_DRILL_TEXTS}
            pytest.fail(f"texts not sent within {seconds} s: {stuck}")


async def test_kill_9_of_an_instance_loses_nothing_and_a_survivor_sends_its_texts(
    cluster: Cluster, tmp_path: Path
) -> None:
    stuck = tmp_path / "stuck-gateway"
    os.mkfifo(stuck)  # nobody reads it: the doomed instance hangs in the middle of a text
    (doomed,) = await cluster.start(1, ALERTD_SMS_OUTBOX_FILE=str(stuck))
    survivors = await cluster.start(2)
    consoles = await watch(2, [doomed, *survivors])

    async with Writers([doomed, *survivors]) as writers:
        await writers.raise_many(range(8))
        on_doomed = [c for c in consoles if c.name.startswith(doomed.url)]
        doomed.kill()
        # Its consoles notice the drop and come back through another instance.
        for n, console in enumerate(on_doomed):
            await console.wait_until(lambda c: not c.connected)
            await console.connect(url_for(survivors[n % len(survivors)]))
        await writers.raise_many(range(8, 16))
    raised = set(writers.accepted.values())
    assert len(raised) == 16  # every press got a 2xx in the end, from someone

    await each_got_every_event_once_in_order(consoles, raised, survivors[0])
    # The texts the dead instance had claimed (it was stuck on the first) go out from a
    # survivor once its heartbeat is 2 s old, not after the 30 s lease.
    await deliveries_done(survivors[0], raised, seconds=60)


async def test_a_redis_restart_mid_run_loses_nothing_and_every_console_catches_up(
    alertd_processes: AlertdProcesses, tmp_path: Path, pg_database: str, redis_prefix: str
) -> None:
    redis = PrivateRedis()
    redis.start()
    try:
        own = Cluster(alertd_processes, tmp_path, pg_database, redis.url, redis_prefix)
        servers = await own.start(2)
        consoles = await watch(2, servers)
        async with Writers(servers) as writers:
            await writers.raise_many(range(8))
            redis.stop()
            await writers.raise_many(range(8, 16))  # Redis is down: raising still works
            # ... and consoles still get every event (their own at once, the other
            # instance's from the database), before Redis is back.
            await each_got(consoles, set(writers.accepted.values()))
            redis.start()
            await writers.raise_many(range(16, 24))
        raised = set(writers.accepted.values())
        assert len(raised) == 24
        await each_got_every_event_once_in_order(consoles, raised, servers[0])
        assert all(console.closes == [] for console in consoles)
    finally:
        alertd_processes.kill_all()
        redis.remove()
