"""Throwaway PostgreSQL for tests: the server named by DATABASE_URL, or one started here.

Tests never use a fake database. With DATABASE_URL set, each test gets a fresh database
created on that server; without it, a private server is started from the PostgreSQL
binaries (initdb / pg_ctl) in a temporary directory and removed afterwards.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Protocol

from sqlalchemy.engine import make_url


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if found:
        return found[-1]
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"{name} not found: install PostgreSQL (see README, ./dev test)")
    return path


def _as_postgres(command: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root; CI runs as root.
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


class PrivatePostgres:
    """A PostgreSQL server of the test's own, in a temporary directory, that the test may
    stop and start again (same port, same data). `remove` when done."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="alertd-pg-"))
        self._data, self._sockets = self.root / "data", self.root / "run"
        self._sockets.mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
            shutil.chown(self._sockets, "postgres")
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        subprocess.run(
            _as_postgres(
                [
                    _pg_bin("initdb"),
                    "-D",
                    str(self._data),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                ]
            ),
            check=True,
            capture_output=True,
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self._sockets} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.root / "log")
        subprocess.run(
            _as_postgres(
                [_pg_bin("pg_ctl"), "-D", str(self._data), "-o", options, "-w", "-l", log, "start"]
            ),
            check=True,
            capture_output=True,
        )

    def stop(self, mode: str = "fast") -> None:
        subprocess.run(
            _as_postgres([_pg_bin("pg_ctl"), "-D", str(self._data), "-m", mode, "-w", "stop"]),
            capture_output=True,
        )

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


class PrivateServer(Protocol):
    url: str

    def start(self) -> None: ...

    def remove(self) -> None: ...


@contextmanager
def given_or_private(variable: str, private: Callable[[], PrivateServer]) -> Iterator[str]:
    """Yield the URL in environment `variable` if set, else start a private server, yield
    its URL and remove it afterwards."""
    given = os.environ.get(variable)
    if given:
        yield given
        return
    server = private()
    server.start()
    try:
        yield server.url
    finally:
        server.remove()


def postgres_server() -> AbstractContextManager[str]:
    """The URL of a PostgreSQL server: DATABASE_URL's, or a private one."""
    return given_or_private("DATABASE_URL", PrivatePostgres)


def _run_sql(url: str, statement: str) -> None:
    import asyncio

    import asyncpg  # type: ignore[import-untyped]

    async def run() -> None:
        conn = await asyncpg.connect(
            make_url(url).set(drivername="postgresql").render_as_string(False)
        )
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(run())


@contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    """A new empty database on the server, dropped afterwards."""
    name = f"alertd_test_{uuid.uuid4().hex[:12]}"
    _run_sql(server_url, f'CREATE DATABASE "{name}"')
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        _run_sql(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
