"""open task counts for the overdue board; urges and extensions kept on each task

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-01 22:45:00

Open human tasks counted per (task's org unit, instance's org unit, local due day), kept in the same flush as the
rows (engine.store.open_counts), so the board's matrix sums counts instead of counting every open task. Filled from
the existing rows here, in SQL, so an upgraded database is counted at once.

Each task's urges and approved extensions are kept on its row (filled here from task_urge and extension_request),
so a list sorted by them pages through an index instead of counting per row.
"""
import sqlalchemy as sa
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('open_task_count',
                    sa.Column('org_unit_code', sa.String(length=64), nullable=False),
                    sa.Column('instance_unit_code', sa.String(length=64), nullable=False),
                    sa.Column('span', sa.String(length=1), nullable=False),
                    sa.Column('due', sa.String(length=10), nullable=False),
                    sa.Column('tasks', sa.Integer(), nullable=False),
                    sa.PrimaryKeyConstraint('org_unit_code', 'instance_unit_code', 'span', 'due'))
    op.create_index('ix_open_task_count_read', 'open_task_count',
                    ['span', 'instance_unit_code', 'due', 'org_unit_code', 'tasks'], unique=False)
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.add_column(sa.Column('urges', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('extensions', sa.Integer(), server_default='0', nullable=False))
        batch_op.create_index('ix_human_task_open_urges', ['status', sa.text('urges DESC'), 'due_at', 'id'],
                              unique=False)
        batch_op.create_index('ix_human_task_open_extensions', ['status', sa.text('extensions DESC'), 'due_at', 'id'],
                              unique=False)
        # the board's tasks due today read their unit from the index too
        batch_op.drop_index('ix_human_task_open_due')
        batch_op.create_index('ix_human_task_open_due', ['status', 'due_at', 'id', 'org_unit_code'], unique=False)
    op.execute("UPDATE human_task SET urges = (SELECT count(*) FROM task_urge u WHERE u.task_id = human_task.id) "
               "WHERE id IN (SELECT task_id FROM task_urge)")
    op.execute("UPDATE human_task SET extensions = (SELECT count(*) FROM extension_request e WHERE e.task_id = "
               "human_task.id AND e.status = 'approved') WHERE id IN (SELECT task_id FROM extension_request WHERE "
               "status = 'approved')")
    # due days in county time (UTC+8, no daylight saving), as engine.store.open_counts.due_day makes them; each
    # day counted per instance unit and for every instance ('*'), and likewise per month
    day = ("date(t.due_at, '+8 hours')" if op.get_bind().dialect.name == "sqlite"
           else "to_char(t.due_at + interval '8 hours', 'YYYY-MM-DD')")
    per_day = (f"SELECT coalesce(t.org_unit_code, '') AS unit, coalesce(i.org_unit_code, '') AS case_unit, "
               f"coalesce({day}, '') AS due FROM human_task t JOIN process_instance i ON i.id = t.instance_id "
               f"WHERE t.status = 'ready'")
    for case_unit in ("case_unit", "'*'"):
        for span, due in (("d", "due"), ("m", "substr(due, 1, 7)")):
            op.execute(f"INSERT INTO open_task_count (org_unit_code, instance_unit_code, span, due, tasks) "
                       f"SELECT unit, {case_unit}, '{span}', {due}, count(*) FROM ({per_day}) AS open_tasks "
                       f"GROUP BY 1, 2, 3, 4")


def downgrade() -> None:
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.drop_index('ix_human_task_open_extensions')
        batch_op.drop_index('ix_human_task_open_urges')
        batch_op.drop_column('extensions')
        batch_op.drop_column('urges')
        batch_op.drop_index('ix_human_task_open_due')
        batch_op.create_index('ix_human_task_open_due', ['status', 'due_at', 'id'], unique=False)
    op.drop_index('ix_open_task_count_read', table_name='open_task_count')
    op.drop_table('open_task_count')
