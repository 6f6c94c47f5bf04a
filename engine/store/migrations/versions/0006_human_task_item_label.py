"""human task item label

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 12:05:00

Which item of a multi-instance step a task works on (a site, a suggestion), so the inbox tells such tasks apart.
Open tasks get it on their instance's next save.
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.add_column(sa.Column('item_label', sa.String(length=120), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.drop_column('item_label')
