"""suggestion ledger

Revision ID: 0011b
Revises: 0010
Create Date: 2026-12-01 17:00:00

What the suggestion ledger (建议办理台账) filters and shows that the records did not keep: the day the consultation
meeting was held (its period), the departments a re-routed suggestion passed through before its current one, and
the latest follow-up visit's finding. Records of earlier instances fill in at their next save.
"""
import sqlalchemy as sa
from alembic import op

revision = '0011b'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('consultation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('meeting_date', sa.Date(), nullable=True))
        batch_op.create_index('ix_consultation_meeting_date', ['meeting_date'])
    with op.batch_alter_table('suggestion', schema=None) as batch_op:
        batch_op.add_column(sa.Column('departments_before', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('follow_up', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('suggestion', schema=None) as batch_op:
        batch_op.drop_column('follow_up')
        batch_op.drop_column('departments_before')
    with op.batch_alter_table('consultation', schema=None) as batch_op:
        batch_op.drop_index('ix_consultation_meeting_date')
        batch_op.drop_column('meeting_date')
