"""inbox counts kept per holder, per (role, org unit) and per completer; indexes for keyset inbox pages

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-02 02:10:00

The inbox's tab counts are read from inbox_count (engine.store.task_counts), kept in the same flush as the rows, so
a tab of 100,000 tasks is not counted on every page. Filled from the existing rows here, in SQL.

The inbox's lists are paged by keyset (due time, id) — the completion time for the done tab — so each index a tab
reads ends in `id`, and the claimable tab has one that holds `assignee` before the due time (an unheld task is an
index range, not a filter).
"""
import sqlalchemy as sa
from alembic import op

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('inbox_count',
                    sa.Column('kind', sa.String(length=1), nullable=False),
                    sa.Column('subject', sa.String(length=64), nullable=False),
                    sa.Column('org_unit_code', sa.String(length=64), nullable=False),
                    sa.Column('tasks', sa.Integer(), nullable=False),
                    sa.PrimaryKeyConstraint('kind', 'subject', 'org_unit_code'))
    op.drop_index('ix_human_task_open_assignee', table_name='human_task')
    op.create_index('ix_human_task_open_assignee', 'human_task', ['status', 'assignee', 'due_at', 'id'])
    op.create_index('ix_human_task_claimable', 'human_task',
                    ['status', 'role', 'org_unit_code', 'assignee', 'due_at', 'id'])
    op.drop_index('ix_human_task_done_by', table_name='human_task')
    op.create_index('ix_human_task_done_by', 'human_task', ['completed_by', 'status', 'completed_at', 'id'])
    # as engine.store.task_counts.key_of: held ready tasks per holder ('a'), unheld ones per (role, unit) ('c'),
    # completed ones per completer ('d')
    op.execute("INSERT INTO inbox_count (kind, subject, org_unit_code, tasks) "
               "SELECT 'a', assignee, '', count(*) FROM human_task WHERE status = 'ready' AND assignee IS NOT NULL "
               "GROUP BY assignee")
    op.execute("INSERT INTO inbox_count (kind, subject, org_unit_code, tasks) "
               "SELECT 'c', coalesce(role, ''), coalesce(org_unit_code, ''), count(*) FROM human_task "
               "WHERE status = 'ready' AND assignee IS NULL GROUP BY coalesce(role, ''), coalesce(org_unit_code, '')")
    op.execute("INSERT INTO inbox_count (kind, subject, org_unit_code, tasks) "
               "SELECT 'd', completed_by, '', count(*) FROM human_task WHERE status = 'completed' "
               "AND completed_by IS NOT NULL GROUP BY completed_by")


def downgrade() -> None:
    op.drop_index('ix_human_task_done_by', table_name='human_task')
    op.create_index('ix_human_task_done_by', 'human_task', ['completed_by', 'status', 'completed_at'])
    op.drop_index('ix_human_task_claimable', table_name='human_task')
    op.drop_index('ix_human_task_open_assignee', table_name='human_task')
    op.create_index('ix_human_task_open_assignee', 'human_task', ['status', 'assignee', 'due_at'])
    op.drop_table('inbox_count')
