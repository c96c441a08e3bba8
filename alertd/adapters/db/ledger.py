"""The delivery ledger as the provider's reports and the recipients' replies see it.

Synchronous steps of a `Connection`, like `outbox`: recording a provider's message id the
moment it is known, finding a row by that id (for a status callback), the newest message to
a number about an open alert (for a reply), and the numbers that replied STOP.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import Connection

from alertd.adapters import codec
from alertd.adapters.db import schema as t
from alertd.adapters.db.outbox import delivery_from_row
from alertd.adapters.db.sites import insert_for
from alertd.core.alert import OPEN_STATES
from alertd.core.delivery import Delivery

_d = t.deliveries.c


def record_provider_ref(
    conn: Connection,
    delivery_id: int,
    *,
    provider_ref: str,
    sender: str | None,
    repeat_possible: bool,
) -> None:
    conn.execute(
        sa.update(t.deliveries)
        .where(_d.id == delivery_id)
        .values(
            provider_ref=provider_ref,
            sender=sender,
            repeat_possible=sa.or_(_d.repeat_possible, sa.literal(repeat_possible)),
        )
    )


def delivery_by_ref(conn: Connection, provider_ref: str, *, lock: bool) -> Delivery | None:
    query = sa.select(t.deliveries).where(_d.provider_ref == provider_ref).limit(1)
    if lock:
        query = query.with_for_update()
    row = conn.execute(query).first()
    return delivery_from_row(row) if row is not None else None


def latest_delivery_to(conn: Connection, address: str) -> Delivery | None:
    """The newest message to `address` about an alert that is still open."""
    a = t.alerts.c
    row = conn.execute(
        sa.select(t.deliveries)
        .join(t.alerts, a.id == _d.alert_id)
        .where(_d.address == address, a.state.in_(sorted(s.value for s in OPEN_STATES)))
        .order_by(_d.id.desc())
        .limit(1)
    ).first()
    return delivery_from_row(row) if row is not None else None


def set_opt_out(conn: Connection, address: str, *, stopped: bool, now: datetime) -> None:
    if not stopped:
        conn.execute(sa.delete(t.opt_outs).where(t.opt_outs.c.address == address))
        return
    conn.execute(
        insert_for(conn.dialect.name, t.opt_outs)
        .values(address=address, stopped_at=codec.utc(now))
        .on_conflict_do_nothing()
    )
