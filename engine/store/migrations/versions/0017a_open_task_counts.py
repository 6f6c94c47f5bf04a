"""open task counts for the overdue board

Revision ID: 0017a
Revises: 0016
Create Date: 2026-12-01 22:45:00

Open human tasks counted per (task's org unit, instance's org unit, local due day), kept in the same flush as the
rows (engine.store.open_counts), so the board's matrix sums counts instead of counting every open task. Filled from
the existing rows here, in SQL, so an upgraded database is counted at once.
"""
import sqlalchemy as sa
from alembic import op

revision = '0017a'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('open_task_count',
                    sa.Column('org_unit_code', sa.String(length=64), nullable=False),
                    sa.Column('instance_unit_code', sa.String(length=64), nullable=False),
                    sa.Column('due_day', sa.String(length=10), nullable=False),
                    sa.Column('tasks', sa.Integer(), nullable=False),
                    sa.PrimaryKeyConstraint('org_unit_code', 'instance_unit_code', 'due_day'))
    op.create_index('ix_open_task_count_case', 'open_task_count',
                    ['instance_unit_code', 'org_unit_code', 'due_day', 'tasks'], unique=False)
    # due days in county time (UTC+8, no daylight saving), as engine.store.open_counts.due_day makes them
    day = ("date(t.due_at, '+8 hours')" if op.get_bind().dialect.name == "sqlite"
           else "to_char(t.due_at + interval '8 hours', 'YYYY-MM-DD')")
    op.execute(f"INSERT INTO open_task_count (org_unit_code, instance_unit_code, due_day, tasks) "
               f"SELECT coalesce(t.org_unit_code, ''), coalesce(i.org_unit_code, ''), coalesce({day}, ''), count(*) "
               f"FROM human_task t JOIN process_instance i ON i.id = t.instance_id WHERE t.status = 'ready' "
               f"GROUP BY 1, 2, 3")


def downgrade() -> None:
    op.drop_index('ix_open_task_count_case', table_name='open_task_count')
    op.drop_table('open_task_count')
