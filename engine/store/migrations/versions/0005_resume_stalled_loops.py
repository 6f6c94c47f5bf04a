"""resume stalled loops

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 10:50:00

Instances whose multi-instance or loop step stalled after a cold restore (children completed, never merged)
wait for nothing. Marking every waiting instance without a timer as due lets the next sweep load it: loading
merges the missed children (`runtime.resume_loops`) and the engine run carries the step on; the sweep then
stores the instance's real next timer (or none).
"""
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("UPDATE process_instance SET next_timer_at = updated_at "
               "WHERE status = 'waiting' AND next_timer_at IS NULL")


def downgrade() -> None:
    pass   # the sweep has already stored each instance's real next timer
