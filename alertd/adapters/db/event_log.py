"""Appending to the event log: ids handed out in commit order, without gaps.

Every append bumps the one-row `log_head` and holds its row lock until commit, so the
appenders of all instances commit in id order and a console that resumes by id never misses
an event. That lock is what every command waits for: append last in a transaction (after its
other writes) and spend as few round trips as possible between the bump and the commit. On
PostgreSQL the bump and the insert are one statement; on SQLite the single writer holds
everyone up anyway, and round trips cost no network.

Lock order: an advisory lock (`lock`), then `log_head`, then `audit_head` (`audit`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from alertd.adapters import codec
from alertd.adapters.db import schema as t
from alertd.adapters.db.recordset import columns_of, json_row, recordset
from alertd.app.ports import LoggedEvent
from alertd.core.notice import DomainEvent

_COLUMNS = ["alert_id", "school_id", "type", "drill", "at", "body"]

_BUMP_HEAD = (
    sa.update(t.log_head)
    .where(t.log_head.c.id == 1)
    .values(last_event_id=t.log_head.c.last_event_id + sa.bindparam("count"))
    .returning(t.log_head.c.last_event_id)
)
_INSERT = sa.insert(t.events)


def _bump_and_insert() -> sa.Select[Any]:
    """One PostgreSQL statement: bump the head by :count, insert the :events rows (each with
    its position `n`, from 1) under the ids it made room for; returns the new head."""
    head = _BUMP_HEAD.cte("head")
    rows = recordset("events", "e", sa.column("n", sa.BigInteger), *columns_of(t.events, _COLUMNS))
    ids = head.c.last_event_id - sa.bindparam("count") + rows.c.n
    inserted = sa.insert(t.events).from_select(
        ["id", *_COLUMNS],
        sa.select(ids, *(rows.c[name] for name in _COLUMNS)).select_from(
            head.join(rows, sa.true())
        ),
    )
    return sa.select(head.c.last_event_id).add_cte(inserted.cte("inserted"))


_BUMP_AND_INSERT = _bump_and_insert()


def append_events(conn: Connection, events: Sequence[DomainEvent]) -> list[LoggedEvent]:
    """Append `events`, in order, inside the caller's write transaction; their ids follow
    the head's. The head stays locked until the caller commits."""
    if not events:
        return []
    rows = [
        {
            "alert_id": e.alert_id,
            "school_id": e.school_id,
            "type": e.type.value,
            "drill": e.drill,
            "at": codec.utc(e.at),
            "body": codec.event_body(e),
        }
        for e in events
    ]
    count = len(events)
    if conn.dialect.name == "postgresql":
        numbered = [json_row({"n": n, **row}) for n, row in enumerate(rows, start=1)]
        last = conn.execute(_BUMP_AND_INSERT, {"count": count, "events": numbered}).scalar_one()
        first = int(last) - count + 1
    else:
        first = int(conn.execute(_BUMP_HEAD, {"count": count}).scalar_one()) - count + 1
        conn.execute(_INSERT, [{"id": first + i, **row} for i, row in enumerate(rows)])
    return [LoggedEvent(first + i, e) for i, e in enumerate(events)]
