"""Webhook subscriptions and their delivery log (`webhook_subscriptions`, `webhook_attempts`).

Implements `alertd.app.webhooks.WebhookStore`. Secrets are sealed with the server's secret
box and opened only here, for the relay that signs with them.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from alertd.adapters.codec import utc
from alertd.adapters.db import schema as t
from alertd.adapters.db.audit import append_audit
from alertd.adapters.db.engine import Database
from alertd.adapters.db.event_log import append_events
from alertd.adapters.db.sites import insert_for
from alertd.app.account_ports import SecretBox
from alertd.app.ports import LoggedEvent
from alertd.core.audit import AuditEntry
from alertd.core.permission import Role
from alertd.core.webhook import (
    AttemptOutcome,
    WebhookAttempt,
    WebhookState,
    WebhookSubscription,
    after_attempt,
)

_SUB = t.webhook_subscriptions.c
_TRY = t.webhook_attempts.c
_PURPOSE = "webhook-secret"


class SqlWebhookStore:
    def __init__(self, db: Database, *, box: SecretBox) -> None:
        self._db = db
        self._box = box

    async def save(self, subscription: WebhookSubscription, *, audit: AuditEntry) -> None:
        values = self._columns(subscription)

        def step(conn: Connection) -> None:
            upsert = (
                insert_for(conn.dialect.name, t.webhook_subscriptions)
                .values(id=subscription.id, **values)
                .on_conflict_do_update(index_elements=["id"], set_=values)
            )
            conn.execute(upsert)
            append_audit(conn, [audit])

        async with self._db.write() as session:
            await session.run(step)

    async def delete(self, subscription_id: str, *, audit: AuditEntry) -> bool:
        def step(conn: Connection) -> bool:
            gone = conn.execute(
                sa.delete(t.webhook_subscriptions).where(_SUB.id == subscription_id)
            ).rowcount
            if gone:
                append_audit(conn, [audit])
            return bool(gone)

        async with self._db.write() as session:
            return await session.run(step)

    async def get(self, subscription_id: str) -> WebhookSubscription | None:
        select = sa.select(t.webhook_subscriptions).where(_SUB.id == subscription_id)
        row = await self._db.read(lambda conn: conn.execute(select).first())
        return self._subscription(row) if row is not None else None

    async def all(self) -> list[WebhookSubscription]:
        select = sa.select(t.webhook_subscriptions).order_by(_SUB.created_at, _SUB.id)
        rows = await self._db.read(lambda conn: list(conn.execute(select)))
        return [self._subscription(row) for row in rows]

    async def record_attempt(
        self, attempt: WebhookAttempt, *, pause_after: int
    ) -> list[LoggedEvent]:
        def step(conn: Connection) -> list[LoggedEvent]:
            select = sa.select(t.webhook_subscriptions).where(_SUB.id == attempt.subscription_id)
            if conn.dialect.name == "postgresql":
                select = select.with_for_update()
            row = conn.execute(select).first()
            conn.execute(sa.insert(t.webhook_attempts).values(**_attempt_columns(attempt)))
            if row is None:
                return []  # deleted meanwhile: the attempt is still on record
            before = self._subscription(row)
            after, notices = after_attempt(before, attempt, pause_after=pause_after)
            conn.execute(
                sa.update(t.webhook_subscriptions)
                .where(_SUB.id == after.id)
                .values(
                    state=after.state.value,
                    consecutive_failures=after.consecutive_failures,
                    last_error=after.last_error,
                )
            )
            return append_events(conn, notices)

        async with self._db.write() as session:
            return await session.run(step)

    async def attempts(
        self, subscription_id: str, *, limit: int, before: int | None
    ) -> list[WebhookAttempt]:
        select = (
            sa.select(t.webhook_attempts)
            .where(_TRY.subscription_id == subscription_id)
            .order_by(_TRY.id.desc())
            .limit(limit)
        )
        if before is not None:
            select = select.where(_TRY.id < before)
        rows = await self._db.read(lambda conn: list(conn.execute(select)))
        return [_attempt(row) for row in rows]

    async def attempt(self, attempt_id: int) -> WebhookAttempt | None:
        select = sa.select(t.webhook_attempts).where(_TRY.id == attempt_id)
        row = await self._db.read(lambda conn: conn.execute(select).first())
        return _attempt(row) if row is not None else None

    def _columns(self, subscription: WebhookSubscription) -> dict[str, Any]:
        schools = subscription.school_ids
        return {
            "url": subscription.url,
            "secret": self._box.seal(subscription.secret, purpose=_PURPOSE),
            "event_types": sorted(subscription.event_types),
            "school_ids": sorted(schools) if schools is not None else None,
            "owner_id": subscription.owner_id,
            "owner_role": subscription.owner_role.value,
            "state": subscription.state.value,
            "description": subscription.description,
            "consecutive_failures": subscription.consecutive_failures,
            "last_error": subscription.last_error,
            "created_at": utc(subscription.created_at),
        }

    def _subscription(self, row: Any) -> WebhookSubscription:
        return WebhookSubscription(
            id=row.id,
            url=row.url,
            secret=self._box.open(row.secret, purpose=_PURPOSE),
            event_types=frozenset(row.event_types),
            school_ids=frozenset(row.school_ids) if row.school_ids is not None else None,
            owner_id=row.owner_id,
            owner_role=Role(row.owner_role),
            state=WebhookState(row.state),
            created_at=utc(row.created_at),
            description=row.description,
            consecutive_failures=row.consecutive_failures,
            last_error=row.last_error,
        )


def _attempt_columns(attempt: WebhookAttempt) -> dict[str, Any]:
    return {
        "subscription_id": attempt.subscription_id,
        "message_id": attempt.message_id,
        "event_id": attempt.event_id,
        "event_type": attempt.event_type,
        "attempted_at": utc(attempt.attempted_at),
        "outcome": attempt.outcome.value,
        "status_code": attempt.status_code,
        "error": attempt.error,
        "duration_ms": attempt.duration_ms,
        "manual": attempt.manual,
        "payload": attempt.payload,
    }


def _attempt(row: Any) -> WebhookAttempt:
    return WebhookAttempt(
        id=row.id,
        subscription_id=row.subscription_id,
        message_id=row.message_id,
        event_id=row.event_id,
        event_type=row.event_type,
        attempted_at=utc(row.attempted_at),
        outcome=AttemptOutcome(row.outcome),
        payload=row.payload,
        status_code=row.status_code,
        error=row.error,
        duration_ms=row.duration_ms,
        manual=bool(row.manual),
    )
