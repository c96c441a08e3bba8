"""The bridge's queue on disk (SQLite, WAL, synchronous FULL): every device message is written
here before it is acknowledged on MQTT, and leaves only when alertd has answered it.

Exactly once: a message is keyed by (device id, nonce), so the broker redelivering it (QoS 1)
or a device repeating it is stored once; each stored message is sent with the Idempotency-Key
`<device>.<nonce>` until alertd answers, so a retry after a lost answer never raises twice.
A message alertd refused (forged, replayed, stale, invalid) is kept as `refused` with the
status, never retried, never raised.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from clients.button_bridge.envelope import Envelope

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    device_id TEXT NOT NULL,
    nonce TEXT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    body TEXT NOT NULL,
    timestamp INTEGER NOT NULL,
    signature TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    status INTEGER,
    answer TEXT,
    UNIQUE (device_id, nonce)
);
CREATE INDEX IF NOT EXISTS ix_messages_state ON messages (state, id);
"""


class MessageState(StrEnum):
    PENDING = "pending"  # not yet answered by alertd
    DELIVERED = "delivered"  # alertd accepted it (2xx)
    REFUSED = "refused"  # alertd refused it for good (4xx): forged, replayed, invalid


@dataclass(frozen=True, slots=True)
class Stored:
    id: int
    envelope: Envelope
    attempts: int


class DeliveryBuffer:
    """One SQLite file. Not shared between bridge processes (one bridge per file)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def add(self, envelope: Envelope) -> bool:
        """Store a message; False if this (device, nonce) was stored before (a repeat)."""
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO messages"
                " (device_id, nonce, method, path, body, timestamp, signature)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    envelope.device_id,
                    envelope.nonce,
                    envelope.method,
                    envelope.path,
                    envelope.body,
                    envelope.timestamp,
                    envelope.signature,
                ),
            )
            return cursor.rowcount == 1

    def pending(self, limit: int = 100) -> list[Stored]:
        """Messages not yet answered, oldest first."""
        rows = self._db.execute(
            "SELECT id, device_id, nonce, method, path, body, timestamp, signature, attempts"
            " FROM messages WHERE state = ? ORDER BY id LIMIT ?",
            (MessageState.PENDING.value, limit),
        ).fetchall()
        return [
            Stored(
                id=row[0],
                envelope=Envelope(
                    device_id=row[1],
                    nonce=row[2],
                    method=row[3],
                    path=row[4],
                    body=row[5],
                    timestamp=row[6],
                    signature=row[7],
                ),
                attempts=row[8],
            )
            for row in rows
        ]

    def attempted(self, message_id: int) -> None:
        with self._transaction() as db:
            db.execute("UPDATE messages SET attempts = attempts + 1 WHERE id = ?", (message_id,))

    def settle(self, message_id: int, state: MessageState, *, status: int, answer: str) -> None:
        """Record alertd's final answer to a message."""
        with self._transaction() as db:
            db.execute(
                "UPDATE messages SET state = ?, status = ?, answer = ? WHERE id = ?",
                (state.value, status, answer[:2000], message_id),
            )

    def counts(self) -> dict[str, int]:
        """How many messages are in each state."""
        rows = self._db.execute("SELECT state, count(*) FROM messages GROUP BY state").fetchall()
        return {state.value: 0 for state in MessageState} | {row[0]: row[1] for row in rows}
