"""PostgreSQL advisory locks, for the races that only several instances show.

Each kind of lock has its own class number, so that two kinds never collide; the key within
a class is hashed from a string. Transaction locks (`xact_lock`) are released at commit or
rollback. On SQLite these do nothing: its single writer already excludes everyone else.

Lock order: a transaction takes its advisory lock before any row lock (`log_head`,
`audit_head`), so that two transactions never wait on each other in a circle.
"""

from __future__ import annotations

import hashlib
from enum import IntEnum

import sqlalchemy as sa
from sqlalchemy import Connection

from alertd.core.repeat import PressKey

_XACT_LOCK = sa.text("SELECT pg_advisory_xact_lock(:kind, :key)")


class LockKind(IntEnum):
    MIGRATIONS = 1  # `alertd db upgrade` run by several replicas at once
    PRESS = 2  # presses that could repeat one another (core.repeat.PressKey) join one alert
    SITE = 3  # saving a site document (several demo instances seed at once)
    DEMO_USERS = 4  # seeding the demo users


def lock_key(text: str) -> int:
    """A stable signed 32-bit key for `text` (pg_advisory_xact_lock takes two int4)."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big", signed=True)


def xact_lock(conn: Connection, kind: LockKind, key: str = "") -> None:
    """Wait for, then hold until the end of the transaction, the lock (kind, key)."""
    if conn.dialect.name == "postgresql":
        conn.execute(_XACT_LOCK, {"kind": int(kind), "key": lock_key(key)})


def press_lock_key(press: PressKey) -> str:
    """The key of `LockKind.PRESS` for presses that could repeat `press`.

    A key shared by mistake (no room and an empty room id, a hash collision) only makes
    presses take turns; it never joins them: `core.repeat.repeated_alert` decides that.
    """
    drill = "drill" if press.drill else "real"
    fields = (press.raiser_id, press.school_id, press.room_id or "", press.kind.value, drill)
    return "\0".join(fields)
