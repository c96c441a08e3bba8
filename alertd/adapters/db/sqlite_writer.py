"""SQLite, the embedded default: one writer connection, shared commits, turns by lane.

SQLite allows one writer at a time, and at `synchronous=FULL` every COMMIT waits for an
fsync (milliseconds here). Three choices follow:

- **Steps run on the event loop.** A step is a few statements that take microseconds, and
  once BEGIN IMMEDIATE holds the write lock no statement waits for anyone. A hop to a
  thread and back for each step cost more CPU than the SQL itself (the wake-ups and the
  GIL handed back and forth: about half the CPU of a raise when every step hopped). What
  can wait runs on the dedicated writer thread: the COMMIT, a BEGIN that finds another
  process writing, and steps marked `offload` (a whole site document).
- **Group commit.** Transactions that queue while one is open join it: each runs inside a
  SAVEPOINT of its own (so its failure undoes only its own writes) and one COMMIT, one
  fsync, makes them all durable. Nobody is told "done" before that COMMIT has returned,
  and if it fails every member fails. A burst of 500 presses needs a few dozen fsyncs
  instead of 500. The batch commits when nobody is waiting, when it holds `MAX_BATCH`
  transactions, or when it has been open `MAX_BATCH_SECONDS`.
- **Turns by lane** (`fair_lock`): waiters are served round-robin by lane, so a flood of
  one school's presses cannot bury a distinct alert.

Reads use a small pool of other threads and connections (WAL lets them run beside the
writer); they see what is committed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, exc
from sqlalchemy.engine import NestedTransaction, make_url

from alertd.adapters.db.fair_lock import DEFAULT_LANE, FairLock
from alertd.adapters.db.steps import JSON_OPTIONS, Step, T

logger = logging.getLogger(__name__)

MAX_BATCH = 50
MAX_BATCH_SECONDS = 0.02
# How long a BEGIN waits for another process's write (an operator command) to finish.
BUSY_TIMEOUT_SECONDS = 10.0


class _Batch:
    """One SQLite transaction, shared by the transactions that ran while it was open."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.members = 0
        self.opened_at = loop.time()
        self.committed: asyncio.Future[None] = loop.create_future()


class _SqliteWriteSession:
    def __init__(self, db: SqliteDatabase, conn: Connection) -> None:
        self._db = db
        self._conn = conn

    async def run(self, step: Step[T], *, offload: bool = False) -> T:
        if offload:
            return await self._db.on_writer(lambda: step(self._conn))
        return step(self._conn)


class SqliteDatabase:
    is_sqlite = True

    def __init__(self, url: str, *, synchronous: str) -> None:
        sync_url = make_url(url).set(drivername="sqlite+pysqlite")
        options: dict[str, Any] = {"connect_args": {"check_same_thread": False}, **JSON_OPTIONS}
        self._writer_engine = create_engine(sync_url, pool_size=1, max_overflow=0, **options)
        self._reader_engine = create_engine(sync_url, pool_size=4, max_overflow=4, **options)
        _configure(self._writer_engine, begin="BEGIN IMMEDIATE", synchronous=synchronous)
        # The writer's BEGIN never waits on the event loop: `_open_batch` waits on the thread.
        event.listen(self._writer_engine, "connect", _busy_timeout_zero)
        _configure(self._reader_engine, begin="BEGIN", synchronous=synchronous)
        self._writer_thread = ThreadPoolExecutor(1, thread_name_prefix="alertd-sqlite-writer")
        self._reader_threads = ThreadPoolExecutor(4, thread_name_prefix="alertd-sqlite-reader")
        self._write_lock = FairLock()
        self._writer_conn: Connection | None = None
        self._batch: _Batch | None = None
        self._commits: set[asyncio.Task[None]] = set()
        # Counters, for metrics and tests: COMMITs, and the transactions they made durable.
        self.commit_count = 0
        self.committed_transactions = 0

    async def on_writer(self, work: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._writer_thread, work)

    @asynccontextmanager
    async def write(self, lane: Hashable = DEFAULT_LANE) -> AsyncIterator[_SqliteWriteSession]:
        await self._write_lock.acquire(lane)
        try:
            conn, batch = await self._open_batch()
        except BaseException:
            self._write_lock.release()  # no batch is open: nothing began
            raise
        savepoint: NestedTransaction | None = None
        try:
            savepoint = conn.begin_nested()  # SAVEPOINT: this transaction's own writes
            yield _SqliteWriteSession(self, conn)
            savepoint.commit()  # RELEASE: its writes are now part of the batch
            batch.members += 1
        except BaseException:
            self._undo(savepoint, batch)
            self._hand_on(batch)
            raise
        self._hand_on(batch)
        # Done only once the COMMIT (the fsync) has returned. Shielded: the future is the
        # whole batch's, and a member that gives up waiting must not cancel it for all.
        await asyncio.shield(batch.committed)

    async def _open_batch(self) -> tuple[Connection, _Batch]:
        """The open batch, or BEGIN IMMEDIATE a new one. Called holding the write lock."""
        if self._writer_conn is None:
            self._writer_conn = await self.on_writer(self._writer_engine.connect)
        conn = self._writer_conn
        if self._batch is None:
            if not _try_begin(conn):  # another process writes: wait for it off the loop
                await self.on_writer(lambda: _begin_waiting(conn, BUSY_TIMEOUT_SECONDS))
            self._batch = _Batch(asyncio.get_running_loop())
        return conn, self._batch

    def _undo(self, savepoint: NestedTransaction | None, batch: _Batch) -> None:
        """Roll back one member's writes; if even that fails, the whole batch."""
        try:
            if savepoint is None:
                raise RuntimeError("no savepoint was taken")
            savepoint.rollback()
        except Exception:
            logger.exception("rollback to a savepoint failed: the whole batch is rolled back")
            self._abort(batch, RuntimeError("the shared transaction was rolled back"))

    def _abort(self, batch: _Batch, error: BaseException) -> None:
        """Every member of `batch` fails with `error`; the transaction is rolled back."""
        if self._batch is batch:
            self._batch = None
        if not batch.committed.done():
            batch.committed.set_exception(error)
            batch.committed.exception()  # members that gave up waiting must not warn
        conn = self._writer_conn
        try:
            if conn is not None:
                conn.rollback()
                # After a failed COMMIT SQLAlchemy has let go of the transaction, but SQLite
                # keeps it open (a deferred constraint): end it there too.
                raw = conn.connection.driver_connection
                if raw is not None and raw.in_transaction:
                    raw.rollback()
        except Exception:
            logger.exception("rollback failed: the writer connection is replaced")
            self._writer_conn = None
            if conn is not None:
                conn.invalidate()
                conn.close()  # its pool slot (the writer's only one) is free for the next

    def _hand_on(self, batch: _Batch | None) -> None:
        """Leaving the write lock: let a waiter continue the open batch, or commit it (on
        the writer thread, still holding the lock) and let the waiters start the next."""
        if batch is None or self._batch is not batch:
            self._write_lock.release()  # nothing open (never begun, or aborted)
            return
        loop = asyncio.get_running_loop()
        full = batch.members >= MAX_BATCH or loop.time() - batch.opened_at >= MAX_BATCH_SECONDS
        if self._write_lock.waiting() and not full:
            self._write_lock.release()  # the next holder runs inside the same transaction
            return
        self._batch = None
        commit = asyncio.create_task(self._commit(batch))
        self._commits.add(commit)
        commit.add_done_callback(self._commits.discard)

    async def _commit(self, batch: _Batch) -> None:
        """COMMIT on the writer thread, then tell every member; releases the write lock."""
        conn = self._writer_conn
        assert conn is not None
        try:
            await self.on_writer(conn.commit)
        except asyncio.CancelledError:
            # Only at shutdown (dispose waits for commits). The thread may still be
            # committing: the connection is not touched again, the lock not released.
            batch.committed.cancel()
            raise
        except Exception as error:
            logger.exception("commit of %s transactions failed", batch.members)
            self._abort(batch, error)
            self._write_lock.release()
        else:
            self.commit_count += 1
            self.committed_transactions += batch.members
            batch.committed.set_result(None)
            self._write_lock.release()

    async def read(self, step: Step[T]) -> T:
        def work() -> T:
            with self._reader_engine.connect() as conn:
                return step(conn)

        return await asyncio.get_running_loop().run_in_executor(self._reader_threads, work)

    async def dispose(self) -> None:
        if self._commits:
            await asyncio.gather(*self._commits, return_exceptions=True)
        conn, self._writer_conn = self._writer_conn, None
        if conn is not None:
            await self.on_writer(conn.close)
        await self.on_writer(self._writer_engine.dispose)
        self._reader_engine.dispose()
        self._writer_thread.shutdown(wait=True)
        self._reader_threads.shutdown(wait=True)


def _is_locked(error: exc.OperationalError) -> bool:
    return "database is locked" in str(error.orig)


def _busy_timeout_zero(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA busy_timeout=0")


def _try_begin(conn: Connection) -> bool:
    """BEGIN (IMMEDIATE); False, with nothing begun, while another process writes."""
    try:
        conn.begin()
    except exc.OperationalError as error:
        if not _is_locked(error):
            raise
        conn.rollback()  # reset the connection's transaction state
        return False
    return True


def _begin_waiting(conn: Connection, timeout: float) -> None:
    """BEGIN, retried while another process writes, for up to `timeout` seconds (then
    once more, letting the lock's error through)."""
    deadline = time.monotonic() + timeout
    pause = 0.001
    while not _try_begin(conn):
        if time.monotonic() > deadline:
            conn.begin()
            return
        time.sleep(pause)
        pause = min(pause * 2, 0.05)


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
