"""A real install: the compose file validates, nginx with the repo's configuration passes
the API and the stream through, no log line carries a token, and a mistyped ALERTD_*
variable is reported at start-up.

nginx is Debian's, started by the test on `deploy/nginx.conf` with only its `listen` port
and its upstream servers changed; the alertd instances are real `alertd serve` processes.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
import yaml

from alertd.testing.auth import token_for
from alertd.testing.console import Console
from alertd.testing.servers import free_port

if TYPE_CHECKING:
    from conftest import AlertdProcess, AlertdProcesses

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parents[2]
NGINX_CONF = ROOT / "deploy" / "nginx.conf"
COMPOSE = ROOT / "docker-compose.yml"


def compose_config(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`docker-compose config` (no Docker engine needed), with only `env` set for it."""
    binary = shutil.which("docker-compose")
    assert binary, "docker-compose not installed (./dev test installs Debian's package)"
    empty = tmp_path / "empty.env"
    empty.write_text("")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("ALERTD_", "POSTGRES_"))}
    return subprocess.run(
        [binary, "--env-file", str(empty), "-f", str(COMPOSE), "config"],
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_compose_file_validates_and_runs_two_instances_behind_nginx(tmp_path: Path) -> None:
    result = compose_config(tmp_path, ALERTD_SECRET_KEY="a-real-secret-from-the-environment")
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(result.stdout)
    services = config["services"]
    assert {"alertd-1", "alertd-2", "nginx", "postgres", "redis", "migrate"} <= set(services)
    for name in ("alertd-1", "alertd-2"):
        env = services[name]["environment"]
        assert env["ALERTD_SECRET_KEY"] == "a-real-secret-from-the-environment"
        assert env["ALERTD_DATABASE_URL"].startswith("postgresql://")
        assert env["ALERTD_REDIS_URL"].startswith("redis://")
    assert any("nginx.conf" in str(v) for v in services["nginx"]["volumes"])
    assert {"pgdata", "redisdata"} <= set(config["volumes"])
    # Every setting the instances get is one alertd knows.
    from alertd.settings import unknown_variables

    assert unknown_variables(services["alertd-1"]["environment"]) == []


def test_compose_refuses_to_start_without_a_secret_and_says_how_to_set_one(
    tmp_path: Path,
) -> None:
    result = compose_config(tmp_path)
    assert result.returncode != 0
    assert "set ALERTD_SECRET_KEY in the environment or in .env" in result.stderr


class Nginx:
    """Debian's nginx on the repo's configuration, in front of the given instances."""

    def __init__(self, root: Path, upstreams: list[str]) -> None:
        self.port = free_port()
        self.root = root
        self.access_log = root / "nginx-access.log"
        text = NGINX_CONF.read_text()
        text, listens = re.subn(r"listen 80;", f"listen 127.0.0.1:{self.port};", text)
        servers = "".join(f"        server {u} max_fails=1 fail_timeout=5s;\n" for u in upstreams)
        text, upstream = re.subn(
            r"(upstream alertd \{\n(?:\s*#.*\n)*)(?:\s*server .*\n)+", rf"\g<1>{servers}", text
        )
        assert (listens, upstream) == (1, 1), "deploy/nginx.conf changed shape: update the test"
        (root / "nginx.conf").write_text(text)
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        # The pid file is the test's own; everything else is the repo's file.
        directives = f"daemon off; pid {root}/nginx.pid;"
        self._command = [binary, "-p", str(root), "-c", str(root / "nginx.conf"), "-g", directives]
        self._process: subprocess.Popen[bytes] | None = None

    def spawn(self) -> None:
        with self.access_log.open("wb") as log:
            self._process = subprocess.Popen(self._command, stdout=log, stderr=subprocess.STDOUT)

    async def start(self) -> str:
        self.spawn()
        assert self._process is not None
        url = f"http://127.0.0.1:{self.port}"
        async with asyncio.timeout(20), httpx.AsyncClient() as client:
            while True:
                assert self._process.poll() is None, self.access_log.read_text()
                try:
                    if (await client.get(f"{url}/healthz")).status_code == 200:
                        return url
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.05)

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(10)


@pytest.fixture
def nginx_root(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "nginx"
    root.mkdir()
    yield root


async def test_through_nginx_the_api_and_a_console_work_and_no_log_has_a_token(
    alertd_processes: AlertdProcesses,
    tmp_path: Path,
    nginx_root: Path,
    pg_database: str,
    redis_url: str,
    redis_prefix: str,
) -> None:
    env = {
        "ALERTD_REDIS_URL": redis_url,
        "ALERTD_REDIS_PREFIX": redis_prefix,
        "ALERTD_LOG_LEVEL": "INFO",
        "ALERTD_ACCESS_LOG": "true",
        "ALERTD_REDIS_URLL": "redis://typo",  # an operator's typo, reported at start-up
    }
    instances: list[AlertdProcess] = []
    for n in (1, 2):
        data_dir = tmp_path / f"instance-{n}"
        data_dir.mkdir()
        instances.append(await alertd_processes.start(data_dir, database_url=pg_database, **env))
    nginx = Nginx(nginx_root, [s.url.removeprefix("http://") for s in instances])
    try:
        base = await nginx.start()
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            token = await token_for(client, "dispatcher")
            console = Console("through nginx")

            async def url_for(since: int) -> str:
                ws = base.replace("http://", "ws://")
                return f"{ws}/v1/stream?since={since}&access_token={token}"

            await console.connect(url_for, since=0)
            client.headers["Authorization"] = f"Bearer {token}"
            raised = await client.post(
                "/v1/alerts",
                json={"kind": "medical", "school_id": "lincoln-hs", "room_id": "lincoln-hs-a-101"},
                headers={"Idempotency-Key": "through-nginx-1"},
            )
            assert raised.status_code == 201, raised.text
            alert_id = raised.json()["id"]
            assert (await client.get(f"/v1/alerts/{alert_id}")).status_code == 200
            await console.wait_until(lambda c: alert_id in c.raised())
            await console.disconnect()
    finally:
        nginx.stop()

    access = nginx.access_log.read_text()
    assert "/v1/stream?since=0&access_token=[redacted]" in access
    assert "POST /v1/alerts" in access
    for server in instances:
        log = server.log.read_text()
        assert token not in log, f"a token reached {server.log}"
        assert "unknown setting ALERTD_REDIS_URLL is ignored" in log
        assert "did you mean ALERTD_REDIS_URL?" in log
    assert token not in access
    logs = "".join(s.log.read_text() for s in instances)
    assert "access_token=[redacted]" in logs  # uvicorn logged the handshake, redacted
