"""consultation public reason

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 14:40:00

What the office wrote for the proposer when it declined a topic (the triage form's "给提出人的说明"), shown on the
public tracking page. Topics declined earlier have none: the tracking page shows the general notice for them.
"""
import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('consultation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('public_reason', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('consultation', schema=None) as batch_op:
        batch_op.drop_column('public_reason')
