"""How alertd reaches its database: SQLite (embedded default) or PostgreSQL (scale-out).

Store code is written once, as plain synchronous SQLAlchemy Core functions of a
`Connection`; `Database` decides where they run:

- SQLite allows one writer. All writes of the process go to one dedicated thread that
  keeps one connection, opens each transaction with BEGIN IMMEDIATE and runs a whole step
  of a command (several statements) per hop. Reads use a small pool of other threads (WAL
  lets them run beside the writer). Going through aiosqlite instead cost about four thread
  hops per statement, which dominated the time to raise an alert. Transactions waiting
  for the writer take turns by lane (`fair_lock`), so one flood cannot bury the rest.
- PostgreSQL runs the same functions on asyncpg through `AsyncConnection.run_sync`.

A database that does not answer (refused, reset, timed out, shutting down) surfaces as
`alertd.app.ports.Unavailable("database")`, which the edges turn into 503 + Retry-After.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol, TypeVar

import orjson
from sqlalchemy import Connection, Engine, create_engine, event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from alertd.adapters.db.fair_lock import DEFAULT_LANE, FairLock
from alertd.app.ports import Unavailable

T = TypeVar("T")
Step = Callable[[Connection], T]


def async_url(url: str) -> str:
    """Accept plain `postgresql://` and `sqlite:///` URLs and pick the async drivers."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    elif parsed.drivername in ("sqlite", "sqlite+pysqlite"):
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    return parsed.render_as_string(hide_password=False)


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


_JSON = {"json_serializer": _json_dumps, "json_deserializer": orjson.loads}


class WriteSession(Protocol):
    async def run(self, step: Step[T]) -> T:
        """Run one step (a function of the connection) inside the open transaction."""


class Database(Protocol):
    is_sqlite: bool

    def write(self, lane: Hashable = DEFAULT_LANE) -> AbstractAsyncContextManager[WriteSession]:
        """`async with db.write() as session`: one transaction; commits on exit. Where
        writers take turns (SQLite), they do so round-robin across `lane`s."""

    async def read(self, step: Step[T]) -> T:
        """Run a read-only step on its own connection."""

    async def dispose(self) -> None: ...


class _SqliteWriteSession:
    def __init__(self, db: SqliteDatabase, conn: Connection) -> None:
        self._db = db
        self._conn = conn

    async def run(self, step: Step[T]) -> T:
        return await self._db.on_writer(lambda: step(self._conn))


class SqliteDatabase:
    is_sqlite = True

    def __init__(self, url: str, *, synchronous: str) -> None:
        sync_url = make_url(url).set(drivername="sqlite+pysqlite")
        options: dict[str, Any] = {"connect_args": {"check_same_thread": False}, **_JSON}
        self._writer_engine = create_engine(sync_url, pool_size=1, max_overflow=0, **options)
        self._reader_engine = create_engine(sync_url, pool_size=4, max_overflow=4, **options)
        _configure(self._writer_engine, begin="BEGIN IMMEDIATE", synchronous=synchronous)
        _configure(self._reader_engine, begin="BEGIN", synchronous=synchronous)
        self._writer_thread = ThreadPoolExecutor(1, thread_name_prefix="alertd-sqlite-writer")
        self._reader_threads = ThreadPoolExecutor(4, thread_name_prefix="alertd-sqlite-reader")
        self._write_lock = FairLock()
        self._writer_conn: Connection | None = None

    async def on_writer(self, work: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._writer_thread, work)

    @asynccontextmanager
    async def write(self, lane: Hashable = DEFAULT_LANE) -> AsyncIterator[_SqliteWriteSession]:
        async with self._write_lock.hold(lane):
            if self._writer_conn is None:
                self._writer_conn = await self.on_writer(self._writer_engine.connect)
            conn = self._writer_conn
            try:
                yield _SqliteWriteSession(self, conn)
            except BaseException:
                await self.on_writer(conn.rollback)
                raise
            await self.on_writer(conn.commit)

    async def read(self, step: Step[T]) -> T:
        def work() -> T:
            with self._reader_engine.connect() as conn:
                return step(conn)

        return await asyncio.get_running_loop().run_in_executor(self._reader_threads, work)

    async def dispose(self) -> None:
        conn, self._writer_conn = self._writer_conn, None
        if conn is not None:
            await self.on_writer(conn.close)
        await self.on_writer(self._writer_engine.dispose)
        self._reader_engine.dispose()
        self._writer_thread.shutdown(wait=True)
        self._reader_threads.shutdown(wait=True)


class _AsyncWriteSession:
    def __init__(self, conn: Any) -> None:
        self._conn = conn

    async def run(self, step: Step[T]) -> T:
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
        **_JSON,
    )


def open_database(url: str, *, sqlite_synchronous: str = "FULL") -> Database:
    """Build the engines. Nothing connects until first use."""
    if make_url(url).get_backend_name() == "sqlite":
        return SqliteDatabase(url, synchronous=sqlite_synchronous)
    return PostgresDatabase(url)


def _configure(engine: Engine, *, begin: str, synchronous: str) -> None:
    # pysqlite's own transaction handling defers BEGIN and cannot say IMMEDIATE; take it over.
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn: Connection) -> None:
        conn.exec_driver_sql(begin)
