"""halls' members, the annual consultation plan, meetings; a consultation's hall and plan item

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-02 02:00:00

The records behind the 七有 standard's computed items: plan items for a hall (有计划), meetings and consultations
held there (有活动), suggestions adopted from them (有实效). A consultation's hall is its plan's venue when that is
a registered hall; filled here from the plans already recorded.
"""
import sqlalchemy as sa
from alembic import op

from engine.store.db import UTCDateTime

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('hall_member',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('hall_code', sa.String(length=64), nullable=False),
                    sa.Column('username', sa.String(length=64), nullable=False),
                    sa.Column('capacity', sa.String(length=20), nullable=False),
                    sa.Column('assigned_at', UTCDateTime(), nullable=False),
                    sa.PrimaryKeyConstraint('id'),
                    sa.UniqueConstraint('hall_code', 'username'))
    op.create_index('ix_hall_member_hall_code', 'hall_member', ['hall_code'])
    op.create_index('ix_hall_member_username', 'hall_member', ['username'])
    op.create_table('consultation_plan',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('year', sa.Integer(), nullable=False),
                    sa.Column('tier', sa.String(length=20), nullable=False),
                    sa.Column('org_unit_code', sa.String(length=64), nullable=False),
                    sa.Column('status', sa.String(length=20), nullable=False),
                    sa.Column('note', sa.Text(), nullable=True),
                    sa.Column('submitted_at', UTCDateTime(), nullable=True),
                    sa.Column('approved_at', UTCDateTime(), nullable=True),
                    sa.Column('approved_by', sa.String(length=64), nullable=True),
                    sa.Column('created_by', sa.String(length=64), nullable=False),
                    sa.Column('created_at', UTCDateTime(), nullable=False),
                    sa.Column('updated_at', UTCDateTime(), nullable=False),
                    sa.PrimaryKeyConstraint('id'),
                    sa.UniqueConstraint('year', 'org_unit_code'))
    op.create_index('ix_consultation_plan_year', 'consultation_plan', ['year'])
    op.create_table('plan_item',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('plan_id', sa.Integer(), nullable=False),
                    sa.Column('number', sa.Integer(), nullable=False),
                    sa.Column('title', sa.String(length=200), nullable=False),
                    sa.Column('description', sa.Text(), nullable=True),
                    sa.Column('source', sa.String(length=20), nullable=False),
                    sa.Column('platform', sa.String(length=20), nullable=False),
                    sa.Column('org_unit_code', sa.String(length=64), nullable=False),
                    sa.Column('hall_code', sa.String(length=64), nullable=True),
                    sa.Column('lead_username', sa.String(length=64), nullable=True),
                    sa.Column('target_month', sa.Integer(), nullable=False),
                    sa.Column('created_at', UTCDateTime(), nullable=False),
                    sa.ForeignKeyConstraint(['plan_id'], ['consultation_plan.id'], ondelete='CASCADE'),
                    sa.PrimaryKeyConstraint('id'),
                    sa.UniqueConstraint('plan_id', 'number'))
    op.create_index('ix_plan_item_plan_id', 'plan_item', ['plan_id'])
    op.create_index('ix_plan_item_hall_code', 'plan_item', ['hall_code'])
    op.create_table('meeting',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('kind', sa.String(length=20), nullable=False),
                    sa.Column('title', sa.String(length=200), nullable=False),
                    sa.Column('consultation_id', sa.Integer(), nullable=True),
                    sa.Column('hall_code', sa.String(length=64), nullable=True),
                    sa.Column('venue', sa.String(length=200), nullable=True),
                    sa.Column('org_unit_code', sa.String(length=64), nullable=False),
                    sa.Column('starts_at', UTCDateTime(), nullable=False),
                    sa.Column('ends_at', UTCDateTime(), nullable=True),
                    sa.Column('status', sa.String(length=20), nullable=False),
                    sa.Column('organizer', sa.String(length=64), nullable=False),
                    sa.Column('minutes', sa.Text(), nullable=True),
                    sa.Column('checkin_token', sa.String(length=64), nullable=False),
                    sa.Column('created_at', UTCDateTime(), nullable=False),
                    sa.Column('updated_at', UTCDateTime(), nullable=False),
                    sa.ForeignKeyConstraint(['consultation_id'], ['consultation.id'], ondelete='SET NULL'),
                    sa.PrimaryKeyConstraint('id'),
                    sa.UniqueConstraint('checkin_token'))
    op.create_index('ix_meeting_consultation_id', 'meeting', ['consultation_id'])
    op.create_index('ix_meeting_hall_code', 'meeting', ['hall_code'])
    op.create_index('ix_meeting_org_unit_code', 'meeting', ['org_unit_code'])
    op.create_index('ix_meeting_starts_at', 'meeting', ['starts_at'])
    op.create_table('meeting_invitee',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('meeting_id', sa.Integer(), nullable=False),
                    sa.Column('kind', sa.String(length=20), nullable=False),
                    sa.Column('username', sa.String(length=64), nullable=True),
                    sa.Column('org_unit_code', sa.String(length=64), nullable=True),
                    sa.Column('name', sa.String(length=100), nullable=False),
                    sa.Column('contact', sa.String(length=100), nullable=True),
                    sa.Column('rsvp', sa.String(length=20), nullable=False),
                    sa.Column('rsvp_at', UTCDateTime(), nullable=True),
                    sa.Column('notified_at', UTCDateTime(), nullable=True),
                    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], ondelete='CASCADE'),
                    sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_meeting_invitee_meeting_id', 'meeting_invitee', ['meeting_id'])
    op.create_index('ix_meeting_invitee_username', 'meeting_invitee', ['username'])
    op.create_table('meeting_attendance',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('meeting_id', sa.Integer(), nullable=False),
                    sa.Column('person_key', sa.String(length=80), nullable=False),
                    sa.Column('username', sa.String(length=64), nullable=True),
                    sa.Column('invitee_id', sa.Integer(), nullable=True),
                    sa.Column('name', sa.String(length=100), nullable=False),
                    sa.Column('method', sa.String(length=20), nullable=False),
                    sa.Column('signed_in_at', UTCDateTime(), nullable=False),
                    sa.Column('recorded_by', sa.String(length=64), nullable=True),
                    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], ondelete='CASCADE'),
                    sa.ForeignKeyConstraint(['invitee_id'], ['meeting_invitee.id'], ondelete='SET NULL'),
                    sa.PrimaryKeyConstraint('id'),
                    sa.UniqueConstraint('meeting_id', 'person_key'))
    op.create_index('ix_meeting_attendance_meeting_id', 'meeting_attendance', ['meeting_id'])
    op.create_index('ix_meeting_attendance_username', 'meeting_attendance', ['username'])
    with op.batch_alter_table('consultation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hall_code', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('plan_item_id', sa.Integer(), nullable=True))
        batch_op.create_index('ix_consultation_hall_code', ['hall_code'])
        batch_op.create_index('ix_consultation_plan_item_id', ['plan_item_id'])
        batch_op.create_foreign_key('fk_consultation_plan_item_id', 'plan_item', ['plan_item_id'], ['id'],
                                    ondelete='SET NULL')
    # a plan's venue, when it names a registered hall
    venue = ("json_extract(c.plan, '$.venue')" if op.get_bind().dialect.name == "sqlite"
             else "(c.plan::json ->> 'venue')")
    op.execute(f"UPDATE consultation SET hall_code = (SELECT u.code FROM consultation c JOIN org_unit u "
               f"ON u.code = {venue} AND u.kind = 'hall' WHERE c.id = consultation.id) WHERE plan IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table('consultation', schema=None) as batch_op:
        batch_op.drop_constraint('fk_consultation_plan_item_id', type_='foreignkey')
        batch_op.drop_index('ix_consultation_plan_item_id')
        batch_op.drop_index('ix_consultation_hall_code')
        batch_op.drop_column('plan_item_id')
        batch_op.drop_column('hall_code')
    for table in ('meeting_attendance', 'meeting_invitee', 'meeting', 'plan_item', 'consultation_plan',
                  'hall_member'):
        op.drop_table(table)
