"""Throwaway Redis for tests: REDIS_URL's server, or one started here from redis-server.

Tests never use a fake Redis. Tests that share a server keep apart by key prefix
(`ALERTD_REDIS_PREFIX`); a test that restarts Redis starts a private one (`PrivateRedis`).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import AbstractContextManager
from pathlib import Path

from alertd.testing.servers import free_port, given_or_private

STARTUP_SECONDS = 10.0


class PrivateRedis:
    """redis-server on a free loopback port with its data in a temporary directory. `stop`
    and `start` again keep the port and (append-only file) the data; `remove` when done."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        if not Path(binary).exists():
            raise RuntimeError("redis-server not found: install it (./dev test does)")
        self._binary = binary
        self.root = Path(tempfile.mkdtemp(prefix="alertd-redis-"))
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [
            self._binary,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.root),
            "--appendonly", "yes",
            "--appendfsync", "always",
            "--save", "",
            "--daemonize", "no",
        ]  # fmt: skip
        log = (self.root / "redis.log").open("ab")
        self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError((self.root / "redis.log").read_text())
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as probe:
                    probe.sendall(b"PING\r\n")
                    if probe.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.02)
        raise RuntimeError(f"redis-server did not answer within {STARTUP_SECONDS} s")

    def stop(self) -> None:
        """kill -9: Redis gone at once, as in a crash (the append-only file keeps the data)."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait(10)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def redis_server() -> AbstractContextManager[str]:
    """The URL of a Redis server: REDIS_URL's, or a private one."""
    return given_or_private("REDIS_URL", PrivateRedis)
