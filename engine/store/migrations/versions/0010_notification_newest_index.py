"""notification newest-first index

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 16:45:00

A person's notifications newest first, a page at a time (keyset on created_at, id), without sorting them all.
"""
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.create_index('ix_notification_user_newest', ['username', 'created_at', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_index('ix_notification_user_newest')
