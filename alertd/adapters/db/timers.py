"""Escalation timers as rows with due times, claimed like the outbox (see `claim`).

Any instance may fire a due escalation. A claim names its instance and takes a lease; on
PostgreSQL the rows are picked with FOR UPDATE SKIP LOCKED, so two instances never claim the
same one at once. The timers of an instance that stops heartbeating are taken over within
seconds (embedded, `release_claims` frees them at start-up), and the firing is taken again:
the firing and its effects commit together with the move to the next position (`save`), so
no step is skipped and none is doubled.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from alertd.adapters import codec
from alertd.adapters.db import schema as t
from alertd.adapters.db.claim import Instance, claim_rows, claim_statement, release_rows
from alertd.adapters.db.sites import insert_for
from alertd.core.escalation import Escalation, EscalationState
from alertd.core.kind import AlertKind

LEASE = timedelta(seconds=30)

_e = t.escalations.c
_ACTIVE = _e.state == EscalationState.ACTIVE.value
_CLAIM_DUE = claim_statement(
    t.escalations,
    due=sa.and_(_ACTIVE, _e.due_at <= sa.bindparam("now")),
    returning=tuple(t.escalations.c),
    order_by=(_e.priority, _e.due_at),  # real alerts' first, the most overdue first
)


def claim_due(
    conn: Connection, now: datetime, limit: int, *, instance: Instance
) -> list[Escalation]:
    """Claim up to `limit` due active escalations for `instance`, real alerts' first, the
    most overdue first."""
    rows = claim_rows(conn, _CLAIM_DUE, instance=instance, now=now, lease=LEASE, limit=limit)
    return [_escalation(r) for r in sorted(rows, key=lambda r: (r.priority, r.due_at))]


def is_current(conn: Connection, escalation: Escalation, *, lock: bool) -> bool:
    """Is the alert's timer still as `escalation` found it: active, at the same step? False
    once another claim fired it meanwhile (every firing moves the position on or ends the
    escalation). `lock`: hold the row until commit."""
    query = sa.select(_e.state, _e.position).where(_e.alert_id == escalation.alert_id)
    if lock:
        query = query.with_for_update()
    row = conn.execute(query).first()
    return (
        row is not None
        and row.state == EscalationState.ACTIVE.value
        and row.position == escalation.position
    )


def any_due(conn: Connection, now: datetime) -> bool:
    """Is any escalation due (a read, so an idle poll takes no write lock)? Rows claimed by
    a live instance count too: the claim itself sorts them out."""
    due = sa.select(_e.alert_id).where(_ACTIVE, _e.due_at <= codec.utc(now)).limit(1)
    return conn.execute(due).first() is not None


def _upsert(dialect: str) -> Any:
    insert = insert_for(dialect, t.escalations)
    replaced = {c.name: insert.excluded[c.name] for c in t.escalations.c if c.name != "alert_id"}
    return insert.on_conflict_do_update(index_elements=["alert_id"], set_=replaced)


# Built once per dialect (every raise saves one): building it per call was a tenth of the
# SQL time of a raise.
_UPSERT = {dialect: _upsert(dialect) for dialect in ("sqlite", "postgresql")}
_p = t.escalation_policies.c
_SELECT_POLICY = sa.select(_p.steps).where(
    _p.school_id == sa.bindparam("school_id"), _p.kind == sa.bindparam("kind")
)


def save(conn: Connection, escalation: Escalation, *, drill: bool) -> None:
    """Create or replace the alert's escalation, its claim released."""
    values = {
        "alert_id": escalation.alert_id,
        "school_id": escalation.school_id,
        "steps": codec.policy_to_json(escalation.policy),
        "started_at": codec.utc(escalation.started_at),
        "position": escalation.position,
        "due_at": codec.utc(escalation.due_at) if escalation.due_at else None,
        "state": escalation.state.value,
        "reason": escalation.reason,
        "priority": 1 if drill else 0,
        "lease_until": None,
        "claimed_by": None,
    }
    conn.execute(_UPSERT[conn.dialect.name], values)


def hasten(conn: Connection, alert_ids: list[str], now: datetime) -> None:
    """Bring the next firing of these alerts' active escalations forward to `now`."""
    if alert_ids:
        conn.execute(
            sa.update(t.escalations)
            .where(
                _e.alert_id.in_(alert_ids),
                _e.state == EscalationState.ACTIVE.value,
                _e.due_at > codec.utc(now),
            )
            .values(due_at=codec.utc(now))
        )


def release_claims(conn: Connection) -> int:
    """Free every claimed active escalation (the embedded default, at start-up); how many."""
    release = (
        sa.update(t.escalations)
        .where(_ACTIVE, _e.lease_until.is_not(None))
        .values(lease_until=None, claimed_by=None)
    )
    return int(conn.execute(release).rowcount)


def release_own_claims(conn: Connection, instance: Instance) -> int:
    """Give back the active escalations `instance` claimed (a clean shutdown); how many."""
    return release_rows(conn, t.escalations, unfinished=_ACTIVE, instance=instance)


def policy_of(conn: Connection, school_id: str, kind: AlertKind) -> Any:
    """The stored steps of the school's policy for the kind (JSON), or None."""
    return conn.execute(
        _SELECT_POLICY, {"school_id": school_id, "kind": kind.value}
    ).scalar_one_or_none()


def _escalation(row: Any) -> Escalation:
    return Escalation(
        alert_id=row.alert_id,
        school_id=row.school_id,
        policy=codec.policy_from_json(row.steps),
        started_at=codec.utc(row.started_at),
        position=row.position,
        due_at=codec.utc(row.due_at) if row.due_at is not None else None,
        state=EscalationState(row.state),
        reason=row.reason,
    )
