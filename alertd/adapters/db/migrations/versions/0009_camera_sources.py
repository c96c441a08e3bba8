"""Cameras: each camera's video source, its credentials sealed

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'camera_sources',
        sa.Column('camera_id', sa.String(length=64), nullable=False),
        sa.Column('school_id', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('url', sa.String(length=2000), nullable=False),
        sa.Column('credentials', sa.Text(), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('camera_id'),
    )
    with op.batch_alter_table('camera_sources', schema=None) as batch_op:
        batch_op.create_index('ix_camera_sources_school', ['school_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('camera_sources', schema=None) as batch_op:
        batch_op.drop_index('ix_camera_sources_school')
    op.drop_table('camera_sources')
