"""figure counters gain the heatmap's step spans and breaches

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-01 22:50:00

The figure counters now also keep, per step, the tasks with a due time and those finished late (by the month
created) and a histogram of each case's time on the step in whole days (metric `span:<days>`), so the heatmap reads
counters instead of every task of the period. No new table: the kept counters are emptied here so that
`xieshang init` (which rebuilds empty counters from the records) counts the new metrics for existing consultations.
The open tasks already past their due time are counted live, from an index alone (status, created_at, due_at, …).
"""
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DELETE FROM figure_share")
    op.execute("DELETE FROM figure_count")
    # a township's reader reads its own unit's counters (the histogram has many rows per unit and month)
    op.create_index('ix_figure_count_unit', 'figure_count', ['org_unit_code', 'month', 'metric', 'step', 'tier',
                                                             'value'], unique=False)
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.create_index('ix_human_task_open_created', ['status', 'created_at', 'due_at', 'step', 'tier',
                                                             'instance_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.drop_index('ix_human_task_open_created')
    op.drop_index('ix_figure_count_unit', table_name='figure_count')
    op.execute("DELETE FROM figure_share")
    op.execute("DELETE FROM figure_count")
