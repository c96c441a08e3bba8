"""drill plans: scheduled, running and ended drills per school

Revision ID: 0013_drill_plans
Revises: 0012_roll
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0013_drill_plans'
down_revision = '0012_roll'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('drill_plans',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('school_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('scheduled_for', sa.DateTime(timezone=True), nullable=False),
    sa.Column('alert_id', sa.String(length=36), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('body', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_drill_plans_school_scheduled', 'drill_plans', ['school_id', 'scheduled_for'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_drill_plans_school_scheduled', table_name='drill_plans')
    op.drop_table('drill_plans')
