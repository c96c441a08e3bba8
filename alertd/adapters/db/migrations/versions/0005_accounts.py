"""accounts: token epochs, single-use codes, sealed second factors, sources, devices last
seen, single sign-on providers

Revision ID: 0005
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0005'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('totp_secret', existing_type=sa.String(length=64),
                              type_=sa.String(length=200))
        batch_op.alter_column('totp_pending_secret', existing_type=sa.String(length=64),
                              type_=sa.String(length=200))
        batch_op.add_column(sa.Column('totp_last_step', sa.BigInteger(), nullable=True))
        batch_op.add_column(
            sa.Column('token_epoch', sa.Integer(), server_default='0', nullable=False)
        )
        batch_op.add_column(
            sa.Column('source', sa.String(length=16), server_default='local', nullable=False)
        )
        batch_op.add_column(sa.Column('external_id', sa.String(length=255), nullable=True))
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=True))
    op.create_table('oidc_providers',
    sa.Column('district_id', sa.String(length=64), nullable=False),
    sa.Column('doc', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.PrimaryKeyConstraint('district_id')
    )


def downgrade() -> None:
    op.drop_table('oidc_providers')
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.drop_column('last_seen_at')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('external_id')
        batch_op.drop_column('source')
        batch_op.drop_column('token_epoch')
        batch_op.drop_column('totp_last_step')
        batch_op.alter_column('totp_pending_secret', existing_type=sa.String(length=200),
                              type_=sa.String(length=64))
        batch_op.alter_column('totp_secret', existing_type=sa.String(length=200),
                              type_=sa.String(length=64))
