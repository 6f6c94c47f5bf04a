"""figure counts and the board's indexes

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 19:10:00

The county's figures as counters kept up to date at every save (figure_count: per month, tier, org unit, metric and
step) and each consultation's share of them (figure_share), so a year's figures read a few hundred rows. Filled
from the records of existing consultations by `xieshang figures rebuild` (run once after this upgrade); the
upgrade itself leaves them empty.

The overdue board reads open tasks per org unit (the matrix: status, org_unit_code, due_at) and per case of a
supervised unit (instance_id, status, …) from an index alone, and pages the overdue list by (due_at, id).
"""
import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

_KEY = ('month', 'tier', 'org_unit_code', 'metric', 'step')


def _key_columns() -> list[sa.Column]:
    return [sa.Column('month', sa.String(length=7), nullable=False),
            sa.Column('tier', sa.String(length=20), nullable=False),
            sa.Column('org_unit_code', sa.String(length=64), nullable=False),
            sa.Column('metric', sa.String(length=20), nullable=False),
            sa.Column('step', sa.Integer(), nullable=False)]


def upgrade() -> None:
    op.create_table('figure_count', *_key_columns(), sa.Column('value', sa.Integer(), nullable=False),
                    sa.PrimaryKeyConstraint(*_KEY))
    # the period's sums read this index alone, in (month, metric, step) order
    op.create_index('ix_figure_count_read', 'figure_count', ['month', 'metric', 'step', 'tier', 'org_unit_code',
                                                             'value'], unique=False)
    op.create_table('figure_share', sa.Column('instance_id', sa.Integer(), nullable=False), *_key_columns(),
                    sa.Column('value', sa.Integer(), nullable=False),
                    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'],
                                            ondelete='CASCADE'),
                    sa.PrimaryKeyConstraint('instance_id', *_KEY))
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.drop_index('ix_human_task_open_due')
        batch_op.create_index('ix_human_task_open_due', ['status', 'due_at', 'id'], unique=False)
        batch_op.create_index('ix_human_task_open_unit', ['status', 'org_unit_code', 'due_at'], unique=False)
        batch_op.create_index('ix_human_task_instance_open', ['instance_id', 'status', 'org_unit_code', 'due_at'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.drop_index('ix_human_task_instance_open')
        batch_op.drop_index('ix_human_task_open_unit')
        batch_op.drop_index('ix_human_task_open_due')
        batch_op.create_index('ix_human_task_open_due', ['status', 'due_at'], unique=False)
    op.drop_table('figure_share')
    op.drop_index('ix_figure_count_read', table_name='figure_count')
    op.drop_table('figure_count')
