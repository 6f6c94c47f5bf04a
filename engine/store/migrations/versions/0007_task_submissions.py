"""task submissions

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 13:40:00

Every submitted form (the start form and each completed user task) with its cleaned data, who and when: the case
file reads these, not the workflow state. Instances started earlier have no rows here: the case file reads their
completed forms from the loaded state and the human_task projection instead (`submissions.from_state`), and
`submissions.backfill` records them once. That needs the parsed versions and SpiffWorkflow, so it is not run here.
"""
import sqlalchemy as sa
from alembic import op

from engine.store.db import UTCDateTime

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'task_submission',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('instance_id', sa.Integer(), nullable=False),
        sa.Column('task_id', sa.String(length=36), nullable=True),
        sa.Column('task_spec', sa.String(length=100), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('item_label', sa.String(length=120), nullable=True),
        sa.Column('step', sa.Integer(), nullable=True),
        sa.Column('data', sa.JSON(), nullable=False),
        sa.Column('actor', sa.String(length=64), nullable=True),
        sa.Column('submitted_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('task_submission', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_task_submission_instance_id'), ['instance_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('task_submission', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_task_submission_instance_id'))
    op.drop_table('task_submission')
