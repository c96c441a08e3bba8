"""Engines for SQLite (embedded default) and PostgreSQL (scale-out), and how writes are taken.

SQLite allows one writer. Instead of letting connections race for the lock and retry on
SQLITE_BUSY, all writes of this process go through one connection that opens its
transactions with BEGIN IMMEDIATE, behind an asyncio lock; reads use a separate pool (WAL
lets them run beside the writer). PostgreSQL uses one pool for both.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine


def async_url(url: str) -> str:
    """Accept plain `postgresql://` and `sqlite:///` URLs and pick the async drivers."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    elif parsed.drivername == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    return parsed.render_as_string(hide_password=False)


def sqlite_url_for(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


@dataclass
class Database:
    """A write path and a read path to one database."""

    writer: AsyncEngine
    reader: AsyncEngine
    is_sqlite: bool
    _write_lock: asyncio.Lock | None

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A connection in a transaction that commits on exit, rolls back on error."""
        if self._write_lock is None:
            async with self.writer.begin() as conn:
                yield conn
            return
        async with self._write_lock, self.writer.begin() as conn:
            yield conn

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self.reader.connect() as conn:
            yield conn

    async def dispose(self) -> None:
        await self.writer.dispose()
        if self.reader is not self.writer:
            await self.reader.dispose()


def open_database(url: str, *, sqlite_synchronous: str = "FULL") -> Database:
    """Build the engines. Nothing connects until first use."""
    url = async_url(url)
    options: dict[str, Any] = {"json_serializer": _json_dumps, "json_deserializer": orjson.loads}
    if not url.startswith("sqlite"):
        engine = create_async_engine(url, pool_size=10, max_overflow=10, **options)
        return Database(engine, engine, is_sqlite=False, _write_lock=None)
    writer = create_async_engine(url, pool_size=1, max_overflow=0, **options)
    reader = create_async_engine(url, pool_size=4, max_overflow=4, **options)
    for engine, begin in ((writer, "BEGIN IMMEDIATE"), (reader, "BEGIN")):
        _configure_sqlite(engine, begin=begin, synchronous=sqlite_synchronous)
    return Database(writer, reader, is_sqlite=True, _write_lock=asyncio.Lock())


def _configure_sqlite(engine: AsyncEngine, *, begin: str, synchronous: str) -> None:
    # pysqlite's own transaction handling defers BEGIN and cannot say IMMEDIATE; take it over.
    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(conn: Any) -> None:
        conn.exec_driver_sql(begin)
