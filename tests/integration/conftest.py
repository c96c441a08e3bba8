"""Real alertd processes (`python -m alertd serve`), started and killed by the tests."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from alertd.testing.auth import token_for
from alertd.testing.servers import free_port

STARTUP_SECONDS = 60  # imports alone take seconds when the cores are shared


@dataclass
class AlertdProcess:
    """One running `alertd serve`; `url` is its base URL."""

    url: str
    data_dir: Path
    log: Path
    popen: subprocess.Popen[bytes]

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://")

    async def stream_url(self, since: int, role: str = "district_admin") -> str:
        """The stream URL after `since`, signed in as the demo user of `role`."""
        async with httpx.AsyncClient(base_url=self.url) as client:
            token = await token_for(client, role)
        return f"{self.ws_url}/v1/stream?since={since}&access_token={token}"

    def kill(self) -> None:
        """kill -9: no shutdown, no flush, no goodbye."""
        if self.popen.poll() is None:
            os.kill(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=10)


class AlertdProcesses:
    """Runs `alertd` the way an operator does, with ALERTD_* variables; kills what it starts."""

    def __init__(self) -> None:
        self._started: list[AlertdProcess] = []

    def environment(
        self, data_dir: Path, *, database_url: str | None, port: int, **extra: str
    ) -> dict[str, str]:
        """The variables an operator would set; `extra` adds or overrides ALERTD_* ones."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("ALERTD_")}
        env.update(
            ALERTD_DATA_DIR=str(data_dir),
            ALERTD_DEMO="true",
            ALERTD_PORT=str(port),
            ALERTD_LOG_LEVEL="WARNING",
            ALERTD_SQLITE_SYNCHRONOUS="FULL",
            ALERTD_DEV_MODE="true",  # seeds the demo users the tests sign in as
            ALERTD_SECRET_KEY="integration-test-secret",
        )
        if database_url is not None:
            env["ALERTD_DATABASE_URL"] = database_url
        env.update(extra)
        return env

    def upgrade(self, data_dir: Path, *, database_url: str | None = None) -> None:
        """`alertd db upgrade`: create the schema before the first start."""
        subprocess.run(
            [sys.executable, "-m", "alertd", "db", "upgrade"],
            env=self.environment(data_dir, database_url=database_url, port=0),
            check=True,
            capture_output=True,
            timeout=60,
        )

    async def start(
        self,
        data_dir: Path,
        *,
        database_url: str | None = None,
        port: int | None = None,
        **extra_env: str,
    ) -> AlertdProcess:
        """`alertd serve` on `port` (default: a free one; give the old one to restart a
        server where its clients expect it); returns once GET /readyz answers 200."""
        port = port or free_port()
        log = data_dir / f"alertd-{len(self._started) + 1}.log"
        env = self.environment(data_dir, database_url=database_url, port=port, **extra_env)
        popen = _spawn(env, log=log)
        server = AlertdProcess(f"http://127.0.0.1:{port}", data_dir, log, popen)
        self._started.append(server)
        try:
            async with asyncio.timeout(STARTUP_SECONDS), httpx.AsyncClient() as client:
                while True:
                    if await _ready(client, server):
                        break
                    await asyncio.sleep(0.05)
        except TimeoutError:
            pytest.fail(f"alertd was not ready in {STARTUP_SECONDS} s:\n{log.read_text()}")
        return server

    def kill_all(self) -> None:
        for server in self._started:
            if server.popen.poll() is None:
                server.popen.kill()
            server.popen.wait(timeout=10)


def _spawn(env: dict[str, str], *, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "alertd", "serve"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


async def _ready(client: httpx.AsyncClient, server: AlertdProcess) -> bool:
    if server.popen.poll() is not None:
        pytest.fail(f"alertd exited with {server.popen.returncode}:\n{server.log.read_text()}")
    try:
        return (await client.get(f"{server.url}/readyz", timeout=2)).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture
def alertd_processes() -> Iterator[AlertdProcesses]:
    processes = AlertdProcesses()
    try:
        yield processes
    finally:
        processes.kill_all()
