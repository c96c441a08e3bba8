"""Tables, as SQLAlchemy Core. The ORM is not used: every statement is explicit.

Alembic migrations in `migrations/` create these; a test checks that they agree.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

metadata = sa.MetaData()

JsonDoc = sa.JSON().with_variant(JSONB(), "postgresql")
Moment = sa.DateTime(timezone=True)

# One row. Appending events bumps it inside the transaction, so its row lock orders the
# committers: event ids are handed out in commit order, which makes replay by id exact.
log_head = sa.Table(
    "log_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("last_event_id", sa.BigInteger, nullable=False),
)

alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("school_id", sa.String(64), nullable=False),
    sa.Column("room_id", sa.String(64)),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("state", sa.String(32), nullable=False),
    sa.Column("drill", sa.Boolean, nullable=False),
    sa.Column("raised_at", Moment, nullable=False),
    sa.Column("updated_at", Moment, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("body", JsonDoc, nullable=False),
    sa.Index("ix_alerts_school_raised", "school_id", "raised_at"),
    sa.Index("ix_alerts_state", "state"),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("alert_id", sa.String(36), nullable=False),
    sa.Column("school_id", sa.String(64), nullable=False),
    sa.Column("type", sa.String(64), nullable=False),
    sa.Column("drill", sa.Boolean, nullable=False),
    sa.Column("at", Moment, nullable=False),
    sa.Column("body", JsonDoc, nullable=False),
    sa.Index("ix_events_alert", "alert_id", "id"),
)

idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("scope", sa.String(128), primary_key=True),
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("alert_id", sa.String(36), nullable=False),
)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("alert_id", sa.String(36), nullable=False),
    sa.Column("effect", sa.String(32), nullable=False),
    sa.Column("body", JsonDoc, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # pending | done | failed
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("due_at", Moment, nullable=False),
    sa.Column("lease_until", Moment),
    sa.Column("last_error", sa.Text),
    sa.Column("done_at", Moment),
    sa.Index("ix_outbox_due", "state", "due_at"),
)

districts = sa.Table(
    "districts",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
)

schools = sa.Table(
    "schools",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("district_id", sa.String(64), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("doc", JsonDoc, nullable=False),  # the school's part of the site document
)

rooms = sa.Table(
    "rooms",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("school_id", sa.String(64), nullable=False, index=True),
    sa.Column("floor_id", sa.String(64), nullable=False),
    sa.Column("label", sa.String(300), nullable=False),
)

recipients = sa.Table(
    "recipients",
    metadata,
    sa.Column("school_id", sa.String(64), primary_key=True),
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("sms", sa.String(32)),
)
