"""Login back-off: after repeated failures for one username, make the next try wait.

The rule is pure (`seconds_to_wait`); the database steps record and clear failures per
username. Back-off applies to logging in only, never to raising an alert.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import Connection

from alertd.adapters.db.schema import login_failures

FREE_FAILURES = 3  # mistakes allowed before any waiting
MAX_WAIT_SECONDS = 300
FORGET_AFTER = timedelta(hours=1)  # a quiet hour wipes the slate


@dataclass(frozen=True, slots=True)
class FailureRecord:
    count: int
    last_at: datetime


def seconds_to_wait(record: FailureRecord | None, *, now: datetime) -> int:
    """Whole seconds the username must wait before its next login attempt is checked.

    0 for the first FREE_FAILURES failures, then 2**(n - FREE_FAILURES) seconds after the
    last failure, capped at MAX_WAIT_SECONDS.
    """
    if record is None or record.count <= FREE_FAILURES:
        return 0
    wait = min(2 ** min(record.count - FREE_FAILURES, 16), MAX_WAIT_SECONDS)
    remaining = (record.last_at + timedelta(seconds=wait) - now).total_seconds()
    return max(0, math.ceil(remaining))


def next_failure_count(record: FailureRecord | None, *, now: datetime) -> int:
    """The failure count after one more failure at `now` (old failures are forgotten)."""
    if record is None or now - record.last_at >= FORGET_AFTER:
        return 1
    return record.count + 1


def normalize_username(username: str) -> str:
    """Usernames are e-mail addresses: compared without case or surrounding space."""
    return username.strip().lower()[:254]


def failures_of(conn: Connection, username: str) -> FailureRecord | None:
    row = conn.execute(
        sa.select(login_failures.c.count, login_failures.c.last_at).where(
            login_failures.c.username == username
        )
    ).first()
    if row is None:
        return None
    count, last_at = row
    return FailureRecord(count=count, last_at=_aware(last_at))


def record_failure(conn: Connection, username: str, *, now: datetime) -> int:
    """Count one failed login for `username`; returns the new count. Write step."""
    record = failures_of(conn, username)
    count = next_failure_count(record, now=now)
    if record is None:
        conn.execute(login_failures.insert().values(username=username, count=count, last_at=now))
    else:
        conn.execute(
            login_failures.update()
            .where(login_failures.c.username == username)
            .values(count=count, last_at=now)
        )
    return count


def clear_failures(conn: Connection, username: str) -> None:
    """Forget the failures of `username` (after a successful login). Write step."""
    conn.execute(login_failures.delete().where(login_failures.c.username == username))


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; every moment alertd stores is UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
