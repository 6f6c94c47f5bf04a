"""process version number and note

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01 22:40:00

Each deployed version gets its process's next sequence number (v1, v2 …) and the note its author wrote when
deploying it. Versions deployed before this revision are numbered in the order they were deployed.
"""
import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('process_version', schema=None) as batch_op:
        batch_op.add_column(sa.Column('number', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('note', sa.String(length=500), server_default='', nullable=False))
    table = sa.table('process_version', sa.column('id', sa.Integer()), sa.column('process_id', sa.String()),
                     sa.column('number', sa.Integer()))
    bind = op.get_bind()
    seen: dict[str, int] = {}
    for version_id, process_id in bind.execute(sa.select(table.c.id, table.c.process_id).order_by(table.c.id)):
        seen[process_id] = seen.get(process_id, 0) + 1
        bind.execute(table.update().where(table.c.id == version_id).values(number=seen[process_id]))
    with op.batch_alter_table('process_version', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_process_version_process_id_number', ['process_id', 'number'])


def downgrade() -> None:
    with op.batch_alter_table('process_version', schema=None) as batch_op:
        batch_op.drop_constraint('uq_process_version_process_id_number', type_='unique')
        batch_op.drop_column('note')
        batch_op.drop_column('number')
