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
    sa.Column("raised_by", sa.String(64), nullable=False, server_default=""),
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
    # Notices (alertd.core.notice) may name no alert, or no school.
    sa.Column("alert_id", sa.String(36)),
    sa.Column("school_id", sa.String(64)),
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
    sa.Column("delivery_id", sa.Integer),  # its row of the delivery ledger, if it reaches a person
    sa.Column("claimed_by", sa.String(36)),  # the instance running it (see `instances`)
    # 0 for real alerts, 1 for drills: real ones are claimed first.
    sa.Column("priority", sa.SmallInteger, nullable=False, server_default="0"),
    # How often it was claimed: claimed more often than settled means a claimer died.
    sa.Column("claims", sa.Integer, nullable=False, server_default="0"),
    sa.Index("ix_outbox_due", "state", "due_at"),
)

# The delivery ledger (alertd.core.delivery): one row per message to one recipient.
deliveries = sa.Table(
    "deliveries",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("alert_id", sa.String(36), nullable=False),
    sa.Column("school_id", sa.String(64), nullable=False),
    sa.Column("recipient_id", sa.String(64), nullable=False),
    sa.Column("recipient_name", sa.String(200), nullable=False),
    sa.Column("recipient_kind", sa.String(32), nullable=False),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("address", sa.String(64), nullable=False),
    sa.Column("about", sa.String(64), nullable=False),
    sa.Column("drill", sa.Boolean, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("error", sa.Text),
    sa.Column("provider_ref", sa.String(64)),
    sa.Column("created_at", Moment, nullable=False),
    sa.Column("updated_at", Moment, nullable=False),
    sa.Column("error_code", sa.Integer),  # the provider's (Twilio's) error code
    sa.Column("repeat_possible", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("sender", sa.String(64)),  # the number or service it went out from
    sa.Index("ix_deliveries_alert", "alert_id", "id"),
    sa.Index("ix_deliveries_provider_ref", "provider_ref"),
    sa.Index("ix_deliveries_address", "address", "id"),  # replies: who was texted lately
)

# Numbers that replied STOP (and not START since): never texted, and the ledger says why.
opt_outs = sa.Table(
    "opt_outs",
    metadata,
    sa.Column("address", sa.String(64), primary_key=True),
    sa.Column("stopped_at", Moment, nullable=False),
)

# The escalation policy of each school and kind (alertd.core.escalation), from the site.
escalation_policies = sa.Table(
    "escalation_policies",
    metadata,
    sa.Column("school_id", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(32), primary_key=True),
    sa.Column("steps", JsonDoc, nullable=False),
)

# One escalation timer per alert: the next firing and when it is due. Claimed like the
# outbox (adapters/db/claim.py: a named instance and a lease), so any instance may run it.
escalations = sa.Table(
    "escalations",
    metadata,
    sa.Column("alert_id", sa.String(36), primary_key=True),
    sa.Column("school_id", sa.String(64), nullable=False),
    sa.Column("steps", JsonDoc, nullable=False),
    sa.Column("started_at", Moment, nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("due_at", Moment),
    sa.Column("state", sa.String(16), nullable=False),  # active | stopped | done
    sa.Column("reason", sa.String(64)),
    sa.Column("priority", sa.SmallInteger, nullable=False, server_default="0"),
    sa.Column("lease_until", Moment),
    sa.Column("claimed_by", sa.String(36)),  # the instance firing it (see `instances`)
    sa.Index("ix_escalations_due", "state", "due_at"),
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
    sa.Column("voice", sa.String(32)),
    sa.Column("test_contact", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("backup", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("alert_kinds", sa.String(200)),  # comma-separated; NULL: every kind
)

# --- people, devices and the audit trail -------------------------------------------------

agency_schools = sa.Table(
    "agency_schools",
    metadata,
    sa.Column("agency_id", sa.String(64), primary_key=True),
    sa.Column("school_id", sa.String(64), primary_key=True),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("email", sa.String(254), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("agency_id", sa.String(64)),  # dispatchers: their agency's schools are theirs
    sa.Column("password_hash", sa.String(200), nullable=False),
    # Sealed (encrypted under a key derived from ALERTD_SECRET_KEY), never in clear.
    sa.Column("totp_secret", sa.String(200)),  # set: the second factor is required
    sa.Column("totp_pending_secret", sa.String(200)),  # enrolled, awaiting a first code
    sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", Moment, nullable=False),
    sa.Column("totp_last_step", sa.BigInteger),  # the last code's time step: codes are single use
    # Bumped to end every token and session of the user (sign out everywhere, disabling).
    sa.Column("token_epoch", sa.Integer, nullable=False, server_default="0"),
    sa.Column("source", sa.String(16), nullable=False, server_default="local"),
    sa.Column("external_id", sa.String(255)),  # the roster's sourcedId, the provider's sub
    # SROs and school admins are texted and called here about their schools' alerts.
    sa.Column("phone", sa.String(32)),
)

user_schools = sa.Table(
    "user_schools",
    metadata,
    sa.Column("user_id", sa.String(36), primary_key=True),
    sa.Column("school_id", sa.String(64), primary_key=True),
)

refresh_tokens = sa.Table(
    "refresh_tokens",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),  # sha256 of the token
    sa.Column("user_id", sa.String(36), nullable=False, index=True),
    sa.Column("expires_at", Moment, nullable=False),
    sa.Column("revoked_at", Moment),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),  # sha256 of the key
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("user_id", sa.String(36), nullable=False),  # acts as this user (role, schools)
    sa.Column("created_at", Moment, nullable=False),
    sa.Column("revoked_at", Moment),
)

login_failures = sa.Table(
    "login_failures",
    metadata,
    sa.Column("username", sa.String(254), primary_key=True),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("last_at", Moment, nullable=False),
)

devices = sa.Table(
    "devices",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),  # wall_button | badge | kiosk
    sa.Column("school_id", sa.String(64), nullable=False),
    sa.Column("room_id", sa.String(64)),  # bound to a room (wall button) ...
    sa.Column("user_id", sa.String(36)),  # ... or to a person (badge)
    # Secrets are derived, never stored: HMAC(server key, id + salt); see core.device_signature.
    sa.Column("secret_salt", sa.String(64), nullable=False),
    sa.Column("previous_secret_salt", sa.String(64)),  # the secret before the last rotation,
    sa.Column("previous_valid_until", Moment),  # ... accepted until then
    sa.Index("ix_devices_school", "school_id"),
    sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", Moment, nullable=False),
    sa.Column("last_seen_at", Moment),  # its last signed request
)

device_nonces = sa.Table(
    "device_nonces",
    metadata,
    sa.Column("device_id", sa.String(64), primary_key=True),
    sa.Column("nonce", sa.String(128), primary_key=True),
    sa.Column("seen_at", Moment, nullable=False, index=True),
)

# One row, like `log_head`: appending to the audit trail bumps it inside the transaction, so
# its row lock orders the appenders and the chain never forks. It also remembers the last
# hash, so that cutting entries off the end of the chain is detected.
audit_head = sa.Table(
    "audit_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("last_id", sa.BigInteger, nullable=False),
    sa.Column("last_hash", sa.String(64), nullable=False),
)

# Append-only: migration 0002 adds triggers that refuse UPDATE and DELETE.
audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("at", Moment, nullable=False),
    sa.Column("actor_id", sa.String(64), nullable=False),
    sa.Column("actor_role", sa.String(32), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("school_id", sa.String(64)),
    sa.Column("subject", sa.String(200)),
    sa.Column("detail", JsonDoc, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

# A district's OpenID Connect provider (alertd.core.sso); the client secret in `doc` is sealed.
oidc_providers = sa.Table(
    "oidc_providers",
    metadata,
    sa.Column("district_id", sa.String(64), primary_key=True),
    sa.Column("doc", JsonDoc, nullable=False),
)

# --- several instances on one database ----------------------------------------------------

# Every running instance, with its last heartbeat. Work that an instance claims (outbox rows,
# timers) names it; once its heartbeat is older than the timeout, others take the work over
# (alertd.adapters.db.claim).
instances = sa.Table(
    "instances",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),  # host:port (pid), for people
    sa.Column("started_at", Moment, nullable=False),
    sa.Column("heartbeat_at", Moment, nullable=False),
)

# How far the event relay has copied the log to the Redis stream: the events table is the
# relay's outbox. One row per relay; its row lock makes one instance at a time relay.
event_relay = sa.Table(
    "event_relay",
    metadata,
    sa.Column("name", sa.String(32), primary_key=True),
    sa.Column("published_through", sa.BigInteger, nullable=False),
)

# Device supervision (`core.supervision`): one row per device that ever sent a heartbeat.
# `due_at` is when it counts as silent; the silence round claims overdue rows per instance
# (`adapters/db/claim.py`), so several instances log each silence once.
device_health = sa.Table(
    "device_health",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),  # the device id
    sa.Column("device_name", sa.String(200), nullable=False),
    sa.Column("school_id", sa.String(64), nullable=False),
    sa.Column("room_id", sa.String(64)),
    sa.Column("interval_seconds", sa.Integer, nullable=False),
    sa.Column("last_heard_at", Moment, nullable=False),
    sa.Column("battery_percent", sa.Integer),
    sa.Column("silent", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("low_battery", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("due_at", Moment, nullable=False),
    sa.Column("claimed_by", sa.String(36)),
    sa.Column("lease_until", Moment),
    sa.Index("ix_device_health_due", "silent", "due_at"),
)

# --- Web Push (alertd.app.push) -------------------------------------------------------------

# One row per person and browser; removed when the push service answers 404 or 410.
push_subscriptions = sa.Table(
    "push_subscriptions",
    metadata,
    sa.Column("user_id", sa.String(36), primary_key=True),
    sa.Column("device_id", sa.String(64), primary_key=True),
    sa.Column("endpoint", sa.Text, nullable=False),
    sa.Column("p256dh", sa.String(128), nullable=False),
    sa.Column("auth", sa.String(64), nullable=False),
    sa.Column("created_at", Moment, nullable=False),
)

# A camera's video source (cameras work). The camera itself is placed by the site document;
# this row says where its video comes from. `credentials` is sealed (adapters/auth/secretbox)
# and never leaves the server.
camera_sources = sa.Table(
    "camera_sources",
    metadata,
    sa.Column("camera_id", sa.String(64), primary_key=True),
    sa.Column("school_id", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("url", sa.String(2000), nullable=False),
    sa.Column("credentials", sa.Text),
    sa.Column("updated_at", Moment, nullable=False),
    sa.Index("ix_camera_sources_school", "school_id"),
)

# --- Drill plans (alertd.app.drills) --------------------------------------------------------

# One row per planned drill; `body` holds the plan as `codec.drill_plan_to_dict` writes it,
# the columns what listings and compliance filter on. `alert_id` is its drill alert, once
# started.
drill_plans = sa.Table(
    "drill_plans",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("school_id", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("scheduled_for", Moment, nullable=False),
    sa.Column("alert_id", sa.String(36)),
    sa.Column("updated_at", Moment, nullable=False),
    sa.Column("body", JsonDoc, nullable=False),
    sa.Index("ix_drill_plans_school_scheduled", "school_id", "scheduled_for"),
)

# --- the roll (alertd.core.roll, alertd.app.roll) -------------------------------------------

# One reminder timer per open alert that keeps a roll: when the round looks at it next
# (NULL: not again for this roll). Claimed like the outbox (`claim.py`); `kind` is the
# alert's kind when the timer was set, so an upgrade to another kind restarts it.
roll_timers = sa.Table(
    "roll_timers",
    metadata,
    sa.Column("alert_id", sa.String(36), primary_key=True),
    sa.Column("school_id", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("priority", sa.SmallInteger, nullable=False, server_default="0"),
    sa.Column("due_at", Moment),
    sa.Column("claimed_by", sa.String(36)),
    sa.Column("lease_until", Moment),
    sa.Index("ix_roll_timers_due", "due_at"),
)

# The Idempotency-Keys of roll reports, per reporter: a retry answers the entry the first
# request recorded (`event_id`, its event in the log).
roll_keys = sa.Table(
    "roll_keys",
    metadata,
    sa.Column("scope", sa.String(128), primary_key=True),
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("event_id", sa.BigInteger),
)
