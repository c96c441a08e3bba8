"""Twilio: delivery ledger details, outbox priority, recipients' flags, user phones,
opt-outs, escalation policies and timers

Revision ID: 0008
Revises: 0006
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = '0008'
down_revision = '0006'
branch_labels = None
depends_on = None

JsonDoc = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('priority', sa.SmallInteger(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('claims', sa.Integer(), server_default='0', nullable=False))

    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('error_code', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('repeat_possible', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('sender', sa.String(length=64), nullable=True))
        batch_op.create_index('ix_deliveries_address', ['address', 'id'], unique=False)

    with op.batch_alter_table('recipients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('voice', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('test_contact', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('backup', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('alert_kinds', sa.String(length=200), nullable=True))

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone', sa.String(length=32), nullable=True))

    op.create_table('opt_outs',
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('stopped_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('address')
    )
    op.create_table('escalation_policies',
    sa.Column('school_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('steps', JsonDoc, nullable=False),
    sa.PrimaryKeyConstraint('school_id', 'kind')
    )
    op.create_table('escalations',
    sa.Column('alert_id', sa.String(length=36), nullable=False),
    sa.Column('school_id', sa.String(length=64), nullable=False),
    sa.Column('steps', JsonDoc, nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=64), nullable=True),
    sa.Column('priority', sa.SmallInteger(), server_default='0', nullable=False),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('claimed_by', sa.String(length=36), nullable=True),
    sa.PrimaryKeyConstraint('alert_id')
    )
    with op.batch_alter_table('escalations', schema=None) as batch_op:
        batch_op.create_index('ix_escalations_due', ['state', 'due_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('escalations', schema=None) as batch_op:
        batch_op.drop_index('ix_escalations_due')
    op.drop_table('escalations')
    op.drop_table('escalation_policies')
    op.drop_table('opt_outs')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('phone')
    with op.batch_alter_table('recipients', schema=None) as batch_op:
        batch_op.drop_column('alert_kinds')
        batch_op.drop_column('backup')
        batch_op.drop_column('test_contact')
        batch_op.drop_column('voice')
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_deliveries_address')
        batch_op.drop_column('sender')
        batch_op.drop_column('repeat_possible')
        batch_op.drop_column('error_code')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('claims')
        batch_op.drop_column('priority')
