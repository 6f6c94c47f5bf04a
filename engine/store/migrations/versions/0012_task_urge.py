"""task urges

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 17:10:00

One row per 催办 (urge) of an open task (`domain/work/models.py` `TaskUrge`): the board counts them per task and
refuses a second urge by the same person within the hour.
"""
import sqlalchemy as sa
from alembic import op

from engine.store.db import UTCDateTime

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'task_urge',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('task_id', sa.String(length=36), nullable=False),
        sa.Column('instance_id', sa.Integer(), nullable=False),
        sa.Column('urged_by', sa.String(length=64), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['task_id'], ['human_task.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('task_urge', schema=None) as batch_op:
        batch_op.create_index('ix_task_urge_task_at', ['task_id', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_task_urge_instance_id'), ['instance_id'], unique=False)


def downgrade() -> None:
    op.drop_table('task_urge')
