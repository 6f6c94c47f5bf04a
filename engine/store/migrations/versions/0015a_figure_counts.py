"""figure counts

Revision ID: 0015a
Revises: 0014
Create Date: 2026-12-01 19:10:00

The county's figures as counters kept up to date at every save (figure_count: per month, tier, org unit, metric and
step) and each consultation's share of them (figure_share), so a year's figures read a few hundred rows. Filled
from the records of existing consultations by `xieshang figures rebuild` (run once after this upgrade); the
upgrade itself leaves them empty.
"""
import sqlalchemy as sa
from alembic import op

revision = '0015a'
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
    op.create_table('figure_share', sa.Column('instance_id', sa.Integer(), nullable=False), *_key_columns(),
                    sa.Column('value', sa.Integer(), nullable=False),
                    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'],
                                            ondelete='CASCADE'),
                    sa.PrimaryKeyConstraint('instance_id', *_KEY))


def downgrade() -> None:
    op.drop_table('figure_share')
    op.drop_table('figure_count')
