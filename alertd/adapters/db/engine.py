"""How alertd reaches its database: SQLite (embedded default) or PostgreSQL (scale-out).

Store code is written once, as plain synchronous SQLAlchemy Core functions of a
`Connection`; `Database` decides where they run:

- SQLite allows one writer. All writes of the process go to one dedicated thread that
  keeps one connection, opens each transaction with BEGIN IMMEDIATE and runs a whole step
  of a command (several statements) per hop. Reads use a small pool of other threads (WAL
  lets them run beside the writer). Going through aiosqlite instead cost about four thread
  hops per statement, which dominated the time to raise an alert. Commands waiting for the
  writer share one transaction and one fsync (group commit, `SqliteDatabase`).
- PostgreSQL runs the same functions on asyncpg through `AsyncConnection.run_sync`.

A database that does not answer (refused, reset, timed out, shutting down) surfaces as
`alertd.app.ports.Unavailable("database")`, which the edges turn into 503 + Retry-After.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol, TypeVar

import orjson
from sqlalchemy import Connection, Engine, create_engine, event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from alertd.adapters.db.group_commit import Batch, Turns, WriterThread
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

    def write(self, *, urgent: bool = False) -> AbstractAsyncContextManager[WriteSession]:
        """`async with db.write() as session`: one transaction; durable once it exits.
        `urgent` goes before other waiting commands where writes queue (SQLite)."""

    async def read(self, step: Step[T]) -> T:
        """Run a read-only step on its own connection."""

    async def dispose(self) -> None: ...


class _SqliteWriteSession:
    """One command's steps on the writer connection. A command that joins a batch already
    open (see `SqliteDatabase`) runs inside a savepoint, taken with its first step."""

    def __init__(self, db: SqliteDatabase, conn: Connection, *, savepoint: bool) -> None:
        self._db = db
        self._conn = conn
        self._wants_savepoint = savepoint
        self.in_savepoint = False

    async def run(self, step: Step[T]) -> T:
        if self._conn.in_transaction():
            # BEGIN IMMEDIATE is done (on the writer thread: it may wait for another
            # process's lock), so this step cannot wait for anyone: it runs here, at once,
            # which is cheaper than a hop to the writer thread and back.
            return self._step_here(step)
        return await self._db.on_writer(lambda: self._step_here(step))

    def _step_here(self, step: Step[T]) -> T:
        if self._wants_savepoint and not self.in_savepoint:
            self._conn.exec_driver_sql(f"SAVEPOINT {_SAVEPOINT}")
            self.in_savepoint = True
        return step(self._conn)


_SAVEPOINT = "alertd_command"
# Commands that share one transaction, at most: bounds how long the first of a batch waits.
MAX_BATCH = 64
# ... and for at most this long from its first command's start: under steady traffic
# (raises, the relay's claims and settlements) somebody is nearly always waiting, and a
# batch bounded by count alone could stay open for most of a second.
MAX_BATCH_SECONDS = 0.01


class SqliteDatabase:
    """SQLite with one writer thread and group commit.

    Commands take the writer in turns (urgent ones first). A command that starts while the
    previous one's transaction is still uncommitted (because more commands were waiting)
    joins that transaction inside a savepoint of its own: a command that fails rolls back
    to its savepoint and leaves the others' work alone. The transaction commits (one fsync)
    when no command is waiting, when it holds MAX_BATCH commands or has been open for
    MAX_BATCH_SECONDS, or after an urgent command; every command in it returns only once
    that commit is done, and fails if it fails. So each command stays all-or-nothing and
    durable before it answers, and a burst shares its fsyncs.
    """

    is_sqlite = True

    def __init__(self, url: str, *, synchronous: str) -> None:
        sync_url = make_url(url).set(drivername="sqlite+pysqlite")
        options: dict[str, Any] = {"connect_args": {"check_same_thread": False}, **_JSON}
        self._writer_engine = create_engine(sync_url, pool_size=1, max_overflow=0, **options)
        self._reader_engine = create_engine(sync_url, pool_size=4, max_overflow=4, **options)
        _configure(self._writer_engine, begin="BEGIN IMMEDIATE", synchronous=synchronous)
        _configure(self._reader_engine, begin="BEGIN", synchronous=synchronous)
        self._writer = WriterThread("alertd-sqlite-writer")
        self._reader_threads = ThreadPoolExecutor(4, thread_name_prefix="alertd-sqlite-reader")
        self._turns = Turns()
        self._batch: Batch | None = None
        self._orphans: set[asyncio.Task[None]] = set()
        self._writer_conn: Connection | None = None

    def on_writer(self, work: Callable[[], T]) -> asyncio.Future[T]:
        """Run `work` on the writer thread; its result (or error) as a future."""
        return self._writer.submit(work)

    @asynccontextmanager
    async def write(self, *, urgent: bool = False) -> AsyncIterator[_SqliteWriteSession]:
        """One command: all of its steps commit, or none; durable once this exits.
        `urgent` takes the writer before every command that is not urgent."""
        try:
            await self._turns.take(urgent=urgent)
        except asyncio.CancelledError:
            self._commit_if_orphaned()
            raise
        try:
            if self._writer_conn is None:
                self._writer_conn = await self.on_writer(self._writer_engine.connect)
            conn = self._writer_conn
            joined = self._batch is not None
            if self._batch is None:
                self._batch = Batch()
            batch = self._batch
            session = _SqliteWriteSession(self, conn, savepoint=joined)
            try:
                yield session
            except BaseException:
                if not joined:
                    self._batch = None  # it held this command alone
                    await self.on_writer(conn.rollback)
                elif session.in_savepoint:
                    await self.on_writer(lambda: _rollback_to_savepoint(conn))
                raise
            batch.commands += 1
            committed = asyncio.get_running_loop().create_future()
            batch.waiting.append(committed)
            release = session.in_savepoint
            if (
                urgent
                or not self._turns.waiting()
                or batch.commands >= MAX_BATCH
                or asyncio.get_running_loop().time() - batch.opened_at >= MAX_BATCH_SECONDS
            ):
                await self._commit(batch, release_savepoint=release)
            elif release:
                await self.on_writer(lambda: _release_savepoint(conn))
        finally:
            still_open = self._batch
            if still_open is not None and still_open.commands and not self._turns.waiting():
                # This command failed, and nobody is left to commit the earlier ones.
                await self._commit(still_open, release_savepoint=False)
            self._turns.give_back()
        # Woken in turn order once the batch is committed: the earlier commands publish
        # their events (lower ids) first, since consoles expect ids in order.
        try:
            await committed
        finally:
            asyncio.get_running_loop().call_soon(batch.wake_next)  # after this one runs on

    async def _commit(self, batch: Batch, *, release_savepoint: bool) -> None:
        """Commit `batch` (the caller holds the turn); its commands learn the outcome."""
        self._batch = None
        conn = self._writer_conn
        assert conn is not None

        def commit() -> None:
            if release_savepoint:
                _release_savepoint(conn)
            conn.commit()

        try:
            await asyncio.shield(self.on_writer(commit))
        except BaseException as error:
            batch.settle(error)
            with contextlib.suppress(Exception):
                await self.on_writer(conn.rollback)
            raise
        batch.settle(None)

    def _commit_if_orphaned(self) -> None:
        """A waiting command was cancelled; if the open batch waited for it to commit,
        commit the batch from a task of its own."""
        if self._batch is None or self._turns.busy or self._turns.waiting():
            return

        async def commit_orphaned() -> None:
            await self._turns.take(urgent=True)
            try:
                if self._batch is not None:
                    await self._commit(self._batch, release_savepoint=False)
            finally:
                self._turns.give_back()

        task = asyncio.get_running_loop().create_task(commit_orphaned())
        self._orphans.add(task)
        task.add_done_callback(self._orphans.discard)

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
        self._writer.stop()
        self._reader_threads.shutdown(wait=True)


def _release_savepoint(conn: Connection) -> None:
    conn.exec_driver_sql(f"RELEASE SAVEPOINT {_SAVEPOINT}")


def _rollback_to_savepoint(conn: Connection) -> None:
    conn.exec_driver_sql(f"ROLLBACK TO SAVEPOINT {_SAVEPOINT}")
    _release_savepoint(conn)


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
    is_sqlite = False

    def __init__(self, url: str) -> None:
        self._engine: AsyncEngine = create_async_engine(
            async_url(url),
            pool_size=10,
            max_overflow=10,
            pool_timeout=10,
            connect_args={"timeout": 5},  # seconds to connect: a dead host must not hang us
            **_JSON,
        )

    @asynccontextmanager
    async def write(self, *, urgent: bool = False) -> AsyncIterator[_AsyncWriteSession]:
        """PostgreSQL runs transactions side by side: `urgent` changes nothing."""
        try:
            async with self._engine.begin() as conn:
                yield _AsyncWriteSession(conn)
        except Exception as error:
            if is_unavailable(error):
                raise Unavailable("database") from error
            raise

    async def read(self, step: Step[T]) -> T:
        try:
            async with self._engine.connect() as conn:
                result: T = await conn.run_sync(step)
                return result
        except Exception as error:
            if is_unavailable(error):
                raise Unavailable("database") from error
            raise

    async def dispose(self) -> None:
        await self._engine.dispose()


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
