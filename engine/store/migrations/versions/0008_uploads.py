"""uploads

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 14:40:00

One row per stored evidence file (`domain/work/models.py` `Upload`): the file lives under the uploads folder by its
opaque id; a form may name only uploads its submitter made for that task; unattached ones are swept away.
"""
import sqlalchemy as sa
from alembic import op

from engine.store.db import UTCDateTime

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'upload',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('owner', sa.String(length=64), nullable=False),
        sa.Column('instance_id', sa.Integer(), nullable=True),
        sa.Column('task_id', sa.String(length=36), nullable=True),
        sa.Column('filename', sa.String(length=255), nullable=False),
        sa.Column('content_type', sa.String(length=100), nullable=False),
        sa.Column('size', sa.BigInteger(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('attached_at', UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('upload', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_upload_owner'), ['owner'], unique=False)
        batch_op.create_index(batch_op.f('ix_upload_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_upload_created_at'), ['created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('upload', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_upload_created_at'))
        batch_op.drop_index(batch_op.f('ix_upload_instance_id'))
        batch_op.drop_index(batch_op.f('ix_upload_owner'))
    op.drop_table('upload')
