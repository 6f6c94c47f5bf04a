"""session generation and token expiry

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 19:20:00

A person's session generation: every session cookie and API token carries the one it was made in, so that signing
out, a password reset, a role taken away or deactivation ends all of them at once. API tokens expire; tokens issued
before this revision get the default lifetime from the upgrade on.
"""
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

import engine.store.db

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_generation', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', engine.store.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('generation', sa.Integer(), server_default='0', nullable=False))
    token = sa.table('api_token', sa.column('expires_at', engine.store.db.UTCDateTime()))
    op.execute(token.update().values(expires_at=datetime.now(UTC) + timedelta(days=90)))


def downgrade() -> None:
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_column('generation')
        batch_op.drop_column('expires_at')
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.drop_column('session_generation')
