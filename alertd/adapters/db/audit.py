"""The audit trail in the database: append (inside any write transaction), read, verify.

`append_audit` is a step: call it inside the caller's own write transaction, so that the
audit entry commits (or rolls back) with the change it records. It bumps the one-row
`audit_head` first; on PostgreSQL that row lock is held until commit, so appenders queue
and the chain never forks; on SQLite the single writer does the same.

Lock order: a transaction that also appends alert events must bump `log_head` (the event
append) BEFORE calling `append_audit`, so that two transactions never wait on each other;
both come after the transaction's other writes, right before its commit (`event_log`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from alertd.adapters.codec import utc
from alertd.adapters.db import schema as t
from alertd.adapters.db.engine import Database
from alertd.adapters.db.recordset import columns_of, json_row, recordset
from alertd.core.audit import (
    AuditEntry,
    AuditRecord,
    ChainVerifier,
    VerifyResult,
    chain,
    normalize_detail,
)

__all__ = [
    "append_audit",
    "audit_hashes",
    "audit_head",
    "read_audit",
    "record_audit",
    "verify_chain",
]

_BUMP_HEAD = (
    sa.update(t.audit_head)
    .where(t.audit_head.c.id == 1)
    .values(last_id=t.audit_head.c.last_id + sa.bindparam("count"))
    .returning(t.audit_head.c.last_id, t.audit_head.c.last_hash)
)
_SET_HEAD_HASH = (
    sa.update(t.audit_head)
    .where(t.audit_head.c.id == 1)
    .values(last_hash=sa.bindparam("last_hash"))
)
_SELECT_HEAD = sa.select(t.audit_head.c.last_id, t.audit_head.c.last_hash).where(
    t.audit_head.c.id == 1
)
_INSERT = sa.insert(t.audit_log)
_COLUMNS = [
    "id",
    "at",
    "actor_id",
    "actor_role",
    "action",
    "school_id",
    "subject",
    "detail",
    "prev_hash",
    "hash",
]


def _insert_and_set_head() -> sa.Update:
    """One PostgreSQL statement: insert the :entries rows and set the head's hash."""
    rows = recordset("entries", "r", *columns_of(t.audit_log, _COLUMNS))
    inserted = sa.insert(t.audit_log).from_select(
        _COLUMNS, sa.select(*(rows.c[name] for name in _COLUMNS))
    )
    return _SET_HEAD_HASH.add_cte(inserted.cte("inserted"))


_INSERT_AND_SET_HEAD = _insert_and_set_head()
_VERIFY_PAGE = 1000


def append_audit(conn: Connection, entries: Sequence[AuditEntry]) -> list[AuditRecord]:
    """Append `entries` to the chain, in order, inside the caller's open write transaction.

    Returns them as stored (ids, normalized detail, hashes); most callers ignore that.
    Must run in a write transaction (`db.write()` session step); the entries commit with it.
    Each entry's `detail` must be JSON data (see `core.audit.normalize_detail`); anything
    else raises TypeError before anything is written: a programming error, do not retry.
    Call it after the transaction's event append (see the lock order in the module doc).
    """
    if not entries:
        return []
    normalized = [
        AuditEntry(
            at=utc(e.at),
            actor_id=e.actor_id,
            actor_role=e.actor_role,
            action=e.action,
            school_id=e.school_id,
            subject=e.subject,
            detail=normalize_detail(e.detail),
        )
        for e in entries
    ]
    # The head's row lock is held until commit: appends are serialised, the chain is linear.
    # Every command waits for it, so it costs two round trips on PostgreSQL, three elsewhere.
    new_last, last_hash = conn.execute(_BUMP_HEAD, {"count": len(normalized)}).one()
    records = chain(normalized, last_id=new_last - len(normalized), last_hash=last_hash)
    rows = [
        {
            "id": r.id,
            "at": r.entry.at,
            "actor_id": r.entry.actor_id,
            "actor_role": r.entry.actor_role,
            "action": r.entry.action,
            "school_id": r.entry.school_id,
            "subject": r.entry.subject,
            "detail": r.entry.detail,
            "prev_hash": r.prev_hash,
            "hash": r.hash,
        }
        for r in records
    ]
    if conn.dialect.name == "postgresql":
        json_rows = [json_row(row) for row in rows]
        conn.execute(_INSERT_AND_SET_HEAD, {"entries": json_rows, "last_hash": records[-1].hash})
    else:
        conn.execute(_INSERT, rows)
        conn.execute(_SET_HEAD_HASH, {"last_hash": records[-1].hash})
    return records


async def record_audit(db: Database, entries: Sequence[AuditEntry]) -> None:
    """Append `entries` in a transaction of their own: for events that change nothing else
    (a login, a camera view, an export). Errors are the database's; retrying is safe."""
    if not entries:
        return
    async with db.write() as session:
        await session.run(lambda conn: append_audit(conn, entries))


def _record(row: Any) -> AuditRecord:
    entry = AuditEntry(
        at=utc(row.at),
        actor_id=row.actor_id,
        actor_role=row.actor_role,
        action=row.action,
        school_id=row.school_id,
        subject=row.subject,
        detail=row.detail,
    )
    return AuditRecord(id=row.id, entry=entry, prev_hash=row.prev_hash, hash=row.hash)


def read_audit(
    conn: Connection,
    *,
    after_id: int = 0,
    limit: int = 100,
    school_ids: Collection[str] | None = None,
) -> list[AuditRecord]:
    """Up to `limit` entries with id > `after_id`, oldest first.

    `school_ids` None means every entry; otherwise only entries of those schools (entries
    without a school, like a district admin's login, are left out).
    """
    query = sa.select(t.audit_log).where(t.audit_log.c.id > after_id)
    if school_ids is not None:
        query = query.where(t.audit_log.c.school_id.in_(list(school_ids)))
    query = query.order_by(t.audit_log.c.id).limit(limit)
    return [_record(row) for row in conn.execute(query)]


def _pages(conn: Connection, *, up_to: int) -> Iterator[list[AuditRecord]]:
    after = 0
    while True:
        query = (
            sa.select(t.audit_log)
            .where(t.audit_log.c.id > after, t.audit_log.c.id <= up_to)
            .order_by(t.audit_log.c.id)
            .limit(_VERIFY_PAGE)
        )
        page = [_record(row) for row in conn.execute(query)]
        if not page:
            return
        yield page
        after = page[-1].id


def verify_chain(conn: Connection) -> VerifyResult:
    """Recompute every hash in id order, a page at a time, and compare with the head.

    Entries appended after the head was read are left for the next run. Read-only: run it
    with `db.read`, or on any connection.
    """
    head_id, head_hash = conn.execute(_SELECT_HEAD).one()
    verifier = ChainVerifier()
    for page in _pages(conn, up_to=head_id):
        failure = verifier.feed(page)
        if failure is not None:
            return failure
    return verifier.finish(head_id=head_id, head_hash=head_hash)


def audit_head(conn: Connection) -> tuple[int, str]:
    """The id and hash of the last entry (0 and the genesis hash while the trail is empty)."""
    head_id, head_hash = conn.execute(_SELECT_HEAD).one()
    return int(head_id), str(head_hash)


def audit_hashes(conn: Connection, entry_ids: Collection[int]) -> dict[int, str]:
    """The stored hash of each of these entries that exists."""
    if not entry_ids:
        return {}
    query = sa.select(t.audit_log.c.id, t.audit_log.c.hash).where(
        t.audit_log.c.id.in_(sorted(set(entry_ids)))
    )
    return {int(row.id): str(row.hash) for row in conn.execute(query)}
