"""deadline counted from a case date

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 17:10:00

A step deadline that counts from a date of the case (a meeting date the approved plan set) records which date, so a
task that is due before it was created says why.
"""
import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('deadline', schema=None) as batch_op:
        batch_op.add_column(sa.Column('counted_from', sa.String(length=80), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('deadline', schema=None) as batch_op:
        batch_op.drop_column('counted_from')
