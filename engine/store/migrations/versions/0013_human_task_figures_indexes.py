"""human_task indexes for the county's figures

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 17:20:00

The figures read tasks by kind and completion time (meetings held, research done: task_spec, status, completed_at)
by completion or creation time per step (on-time and breach rates) and per case and step (time spent), a year at
a time, without a table scan.
"""
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.create_index('ix_human_task_spec_done', ['task_spec', 'status', 'completed_at', 'instance_id'],
                              unique=False)
        batch_op.create_index('ix_human_task_completed', ['completed_at', 'step', 'status', 'due_at', 'instance_id'],
                              unique=False)
        batch_op.create_index('ix_human_task_created', ['created_at', 'step', 'due_at', 'completed_at'], unique=False)
        batch_op.create_index('ix_human_task_step_span', ['instance_id', 'step', 'created_at', 'completed_at'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.drop_index('ix_human_task_step_span')
        batch_op.drop_index('ix_human_task_created')
        batch_op.drop_index('ix_human_task_completed')
        batch_op.drop_index('ix_human_task_spec_done')
