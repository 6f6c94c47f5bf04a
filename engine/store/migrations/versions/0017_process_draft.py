"""process drafts

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 22:50:00

The studio's editable copy of a process's files, one per process, kept until it is deployed or discarded.
"""
import sqlalchemy as sa
from alembic import op

import engine.store.db

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'process_draft',
        sa.Column('process_id', sa.String(length=100), nullable=False),
        sa.Column('files', sa.JSON(), nullable=False),
        sa.Column('revision', sa.Integer(), nullable=False),
        sa.Column('base_version_id', sa.Integer(), nullable=True),
        sa.Column('updated_by', sa.String(length=64), nullable=True),
        sa.Column('updated_at', engine.store.db.UTCDateTime(), nullable=False),
        sa.Column('created_at', engine.store.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['base_version_id'], ['process_version.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('process_id'),
    )


def downgrade() -> None:
    op.drop_table('process_draft')
