"""the roll: reminder timers and the Idempotency-Keys of roll reports

Revision ID: 0012_roll
Revises: 0011
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0012_roll'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('roll_timers',
    sa.Column('alert_id', sa.String(length=36), nullable=False),
    sa.Column('school_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('priority', sa.SmallInteger(), server_default='0', nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('claimed_by', sa.String(length=36), nullable=True),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('alert_id')
    )
    op.create_index('ix_roll_timers_due', 'roll_timers', ['due_at'], unique=False)
    op.create_table('roll_keys',
    sa.Column('scope', sa.String(length=128), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('event_id', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('scope', 'key')
    )


def downgrade() -> None:
    op.drop_table('roll_keys')
    op.drop_index('ix_roll_timers_due', table_name='roll_timers')
    op.drop_table('roll_timers')
