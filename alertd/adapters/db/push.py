"""Web Push subscriptions (`push_subscriptions`): saved per person and browser, read as the
push targets of a school when an alert is decided, removed when the push service says gone."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import Connection

from alertd.adapters.codec import utc
from alertd.adapters.db import schema as t
from alertd.adapters.db.audit import append_audit
from alertd.adapters.db.engine import Database
from alertd.adapters.db.sites import insert_for
from alertd.app.push import PushSubscription
from alertd.core.audit import AuditEntry
from alertd.core.push import PushTarget

_SUB = t.push_subscriptions.c
_USER = t.users.c

# Enabled people of the school (their own schools, or their agency's) with a subscription.
_SELECT_TARGETS = (
    sa.select(
        _SUB.user_id,
        _USER.name,
        _USER.role,
        _SUB.device_id,
        _SUB.endpoint,
        _SUB.p256dh,
        _SUB.auth,
    )
    .join(t.users, _USER.id == _SUB.user_id)
    .where(
        _USER.disabled.is_(False),
        sa.or_(
            _SUB.user_id.in_(
                sa.select(t.user_schools.c.user_id).where(
                    t.user_schools.c.school_id == sa.bindparam("school_id")
                )
            ),
            _USER.agency_id.in_(
                sa.select(t.agency_schools.c.agency_id).where(
                    t.agency_schools.c.school_id == sa.bindparam("school_id")
                )
            ),
        ),
    )
    .order_by(_SUB.user_id, _SUB.device_id)
)


def push_targets(conn: Connection, school_id: str) -> tuple[PushTarget, ...]:
    """The browsers to push to about an alert at `school_id` (a step of any transaction)."""
    rows = conn.execute(_SELECT_TARGETS, {"school_id": school_id})
    return tuple(
        PushTarget(
            user_id=r.user_id,
            user_name=r.name,
            role=r.role,
            device_id=r.device_id,
            endpoint=r.endpoint,
            p256dh=r.p256dh,
            auth=r.auth,
        )
        for r in rows
    )


class SqlPushSubscriptions:
    """`alertd.app.push.PushSubscriptionStore` on the database."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def save(self, subscription: PushSubscription, *, audit: AuditEntry) -> None:
        values = {
            "endpoint": subscription.endpoint,
            "p256dh": subscription.p256dh,
            "auth": subscription.auth,
            "created_at": utc(subscription.created_at),
        }

        def step(conn: Connection) -> None:
            upsert = (
                insert_for(conn.dialect.name, t.push_subscriptions)
                .values(user_id=subscription.user_id, device_id=subscription.device_id, **values)
                .on_conflict_do_update(index_elements=["user_id", "device_id"], set_=values)
            )
            conn.execute(upsert)
            append_audit(conn, [audit])

        async with self._db.write() as session:
            await session.run(step)

    async def remove(self, *, user_id: str, device_id: str) -> bool:
        delete = sa.delete(t.push_subscriptions).where(
            _SUB.user_id == user_id, _SUB.device_id == device_id
        )
        async with self._db.write() as session:
            count = await session.run(lambda conn: conn.execute(delete).rowcount)
        return bool(count)

    async def remove_endpoint(self, endpoint: str) -> int:
        delete = sa.delete(t.push_subscriptions).where(_SUB.endpoint == endpoint)
        async with self._db.write() as session:
            count = await session.run(lambda conn: conn.execute(delete).rowcount)
        return int(count)
