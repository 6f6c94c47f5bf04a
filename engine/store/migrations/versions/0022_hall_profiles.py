"""hall profiles: address and opening, contacts, photos and the evidence of the 七有 items entered by townships

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-02 02:10:00

A hall is an org unit of kind "hall"; these tables keep what the registry adds to it. The three computed 七有
items (有计划 有活动 有实效) have no table: they are read from plans, meetings, consultations and suggestions.
"""
import sqlalchemy as sa
from alembic import op

from engine.store.db import UTCDateTime

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('hall_profile',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('hall_code', sa.String(length=64), nullable=False),
                    sa.Column('address', sa.String(length=200), nullable=True),
                    sa.Column('opening_hours', sa.String(length=500), nullable=True),
                    sa.Column('updated_by', sa.String(length=64), nullable=False),
                    sa.Column('updated_at', UTCDateTime(), nullable=False),
                    sa.PrimaryKeyConstraint('id'),
                    sa.UniqueConstraint('hall_code'))
    op.create_table('hall_contact',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('hall_code', sa.String(length=64), nullable=False),
                    sa.Column('position', sa.Integer(), nullable=False),
                    sa.Column('name', sa.String(length=50), nullable=False),
                    sa.Column('role', sa.String(length=50), nullable=True),
                    sa.Column('phone', sa.String(length=30), nullable=True),
                    sa.PrimaryKeyConstraint('id'),
                    sa.UniqueConstraint('hall_code', 'position'))
    op.create_index('ix_hall_contact_hall_code', 'hall_contact', ['hall_code'])
    op.create_table('hall_file',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('hall_code', sa.String(length=64), nullable=False),
                    sa.Column('purpose', sa.String(length=20), nullable=False),
                    sa.Column('upload_id', sa.String(length=32), nullable=False),
                    sa.Column('added_by', sa.String(length=64), nullable=False),
                    sa.Column('added_at', UTCDateTime(), nullable=False),
                    sa.ForeignKeyConstraint(['upload_id'], ['upload.id'], ondelete='CASCADE'),
                    sa.PrimaryKeyConstraint('id'),
                    sa.UniqueConstraint('upload_id'))
    op.create_index('ix_hall_file_hall_code', 'hall_file', ['hall_code'])
    op.create_table('hall_standard',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('hall_code', sa.String(length=64), nullable=False),
                    sa.Column('item', sa.String(length=20), nullable=False),
                    sa.Column('state', sa.String(length=20), nullable=False),
                    sa.Column('note', sa.Text(), nullable=True),
                    sa.Column('reason', sa.Text(), nullable=True),
                    sa.Column('submitted_by', sa.String(length=64), nullable=False),
                    sa.Column('submitted_at', UTCDateTime(), nullable=False),
                    sa.Column('decided_by', sa.String(length=64), nullable=True),
                    sa.Column('decided_at', UTCDateTime(), nullable=True),
                    sa.PrimaryKeyConstraint('id'),
                    sa.UniqueConstraint('hall_code', 'item'))
    op.create_index('ix_hall_standard_hall_code', 'hall_standard', ['hall_code'])


def downgrade() -> None:
    for table in ('hall_standard', 'hall_file', 'hall_contact', 'hall_profile'):
        op.drop_table(table)
