"""device supervision: heartbeats, silence and battery per device

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('device_health',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('device_name', sa.String(length=200), nullable=False),
    sa.Column('school_id', sa.String(length=64), nullable=False),
    sa.Column('room_id', sa.String(length=64), nullable=True),
    sa.Column('interval_seconds', sa.Integer(), nullable=False),
    sa.Column('last_heard_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('battery_percent', sa.Integer(), nullable=True),
    sa.Column('silent', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('low_battery', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claimed_by', sa.String(length=36), nullable=True),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_device_health_due', 'device_health', ['silent', 'due_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_device_health_due', table_name='device_health')
    op.drop_table('device_health')
