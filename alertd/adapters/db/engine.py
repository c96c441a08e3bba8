"""How alertd reaches its database: SQLite (embedded default) or PostgreSQL (scale-out).

Store code is written once, as plain synchronous SQLAlchemy Core functions of a
`Connection`; `Database` decides where they run:

- SQLite allows one writer: `alertd.adapters.db.sqlite_writer` (one writer connection,
  steps on the event loop, commits on a thread and shared by the transactions queued
  meanwhile, turns taken by lane).
- PostgreSQL runs the same functions on asyncpg through `AsyncConnection.run_sync`.

A database that does not answer (refused, reset, timed out, shutting down) surfaces as
`alertd.app.ports.Unavailable("database")`, which the edges turn into 503 + Retry-After.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Hashable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol

from sqlalchemy import exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from alertd.adapters.db.fair_lock import DEFAULT_LANE
from alertd.adapters.db.sqlite_writer import SqliteDatabase
from alertd.adapters.db.steps import JSON_OPTIONS, Step, T
from alertd.app.ports import Unavailable


def async_url(url: str) -> str:
    """Accept plain `postgresql://` and `sqlite:///` URLs and pick the async drivers."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    elif parsed.drivername in ("sqlite", "sqlite+pysqlite"):
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    return parsed.render_as_string(hide_password=False)


class WriteSession(Protocol):
    async def run(self, step: Step[T], *, offload: bool = False) -> T:
        """Run one step (a function of the connection) inside the open transaction.
        `offload`: the step is long (thousands of rows); keep it off the event loop."""


class Database(Protocol):
    is_sqlite: bool

    def write(self, lane: Hashable = DEFAULT_LANE) -> AbstractAsyncContextManager[WriteSession]:
        """`async with db.write() as session`: one transaction; commits on exit. Where
        writers take turns (SQLite), they do so round-robin across `lane`s."""

    async def read(self, step: Step[T]) -> T:
        """Run a read-only step on its own connection."""

    async def dispose(self) -> None: ...


class _AsyncWriteSession:
    def __init__(self, conn: Any) -> None:
        self._conn = conn

    async def run(self, step: Step[T], *, offload: bool = False) -> T:
        # asyncpg does the waiting in its own I/O: nothing here blocks the loop either way.
        result: T = await self._conn.run_sync(step)
        return result


# What "the server is not there" looks like from SQLAlchemy on asyncpg. (OSError covers
# refused and reset connections and connect time-outs.)
_DOWN = (OSError, exc.OperationalError, exc.InterfaceError, exc.TimeoutError)
_DOWN_NAMES = frozenset(
    {
        "CannotConnectNowError",
        "ConnectionDoesNotExistError",
        "AdminShutdownError",
        "ConnectionFailureError",
        "InterfaceError",
        "InternalClientError",
    }
)


def is_unavailable(error: BaseException) -> bool:
    """Whether `error` means the database does not answer (as opposed to a bad statement)."""
    if isinstance(error, exc.DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, exc.DBAPIError) and error.orig is not None:
        cause = error.orig.__cause__ or error.orig
        if type(cause).__name__ in _DOWN_NAMES or isinstance(cause, OSError):
            return True
    return isinstance(error, _DOWN)


class PostgresDatabase:
    """Write transactions and reads each have their own pool: in a burst of presses every
    write connection is taken and hundreds of transactions queue for one, and a read (a
    console's gap filled from the log, a list of alerts) must not queue behind them."""

    is_sqlite = False

    def __init__(self, url: str) -> None:
        self._engine = _postgres_engine(url, pool_size=10, max_overflow=10)
        self._reader = _postgres_engine(url, pool_size=4, max_overflow=4)

    @asynccontextmanager
    async def write(self, lane: Hashable = DEFAULT_LANE) -> AsyncIterator[_AsyncWriteSession]:
        # Writers run side by side on PostgreSQL: `lane` does not matter here.
        try:
            async with self._engine.begin() as conn:
                yield _AsyncWriteSession(conn)
        except Exception as error:
            if is_unavailable(error):
                raise Unavailable("database") from error
            raise

    async def read(self, step: Step[T]) -> T:
        try:
            async with self._reader.connect() as conn:
                result: T = await conn.run_sync(step)
                return result
        except Exception as error:
            if is_unavailable(error):
                raise Unavailable("database") from error
            raise

    async def dispose(self) -> None:
        await self._engine.dispose()
        await self._reader.dispose()


def _postgres_engine(url: str, *, pool_size: int, max_overflow: int) -> AsyncEngine:
    # A request waits at most pool_timeout seconds for a connection, then gets a 503.
    return create_async_engine(
        async_url(url),
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=10,
        connect_args={"timeout": 5},  # seconds to connect: a dead host must not hang us
        **JSON_OPTIONS,
    )


def open_database(url: str, *, sqlite_synchronous: str = "FULL") -> Database:
    """Build the engines. Nothing connects until first use."""
    if make_url(url).get_backend_name() == "sqlite":
        return SqliteDatabase(url, synchronous=sqlite_synchronous)
    return PostgresDatabase(url)
